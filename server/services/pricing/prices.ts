/**
 * Prices: set (a new version — never an update of an old one), list, history, and the
 * seed list import. Platform-level data (a model's price is the platform's cost), so
 * only platform admins change it; every change is audited.
 */
import type { Db } from "../../db/client";
import { env } from "../../env";
import { AppError, NotFound } from "../../errors";
import { newId } from "../../lib/ids";
import { type Actor, recordAudit } from "../audit/audit";
import { formatAmount, parseAmount } from "../../lib/money";
import { priceBook } from "./price-book";
import { ImportSeedInput, PriceHistoryInput, SeedPriceList, SetPriceInput } from "./schemas";
import seedList from "./seed-prices.json";

export interface PriceView {
  id: string;
  model: string;
  /** null = wherever the model is served */
  backendId: string | null;
  backendName: string | null;
  currency: string;
  /** decimal strings per million tokens (per request for perRequest) */
  input: string;
  cachedInput: string | null;
  output: string;
  perRequest: string;
  effectiveFrom: Date;
  source: string;
  createdAt: Date;
}

type Row = Awaited<ReturnType<Db["price"]["findMany"]>>[number];

function view(r: Row, backends: Map<string, string>): PriceView {
  return {
    id: r.id,
    model: r.model,
    backendId: r.backendId || null,
    backendName: r.backendId ? (backends.get(r.backendId) ?? null) : null,
    currency: r.currency,
    input: formatAmount(r.inputNanoPerM),
    cachedInput: r.cachedInputNanoPerM === null ? null : formatAmount(r.cachedInputNanoPerM),
    output: formatAmount(r.outputNanoPerM),
    perRequest: formatAmount(r.requestNano),
    effectiveFrom: r.effectiveFrom,
    source: r.source,
    createdAt: r.createdAt,
  };
}

async function backendNames(db: Db): Promise<Map<string, string>> {
  const rows = await db.backend.findMany({ select: { id: true, name: true } });
  return new Map(rows.map((b) => [b.id, b.name]));
}

/** Adds a price version. Refuses another currency than SPEND_CURRENCY, and a date before the latest version (history stays as it was). */
export async function setPrice(db: Db, actor: Actor, raw: SetPriceInput, source = "console"): Promise<PriceView> {
  const input = SetPriceInput.parse(raw);
  const currency = env().SPEND_CURRENCY;
  if (input.currency && input.currency !== currency) {
    throw new AppError(
      "invalid",
      `Prices are in ${currency} on this server (SPEND_CURRENCY), so costs can be added up; convert ${input.currency} first.`,
      { code: "currency_mismatch", param: "currency" },
    );
  }
  const backendId = input.backendId || "";
  if (backendId && !(await db.backend.findUnique({ where: { id: backendId }, select: { id: true } }))) throw NotFound("Backend");
  const effectiveFrom = input.effectiveFrom ?? new Date();
  const created = await db.$transaction(async (tx) => {
    const latest = await tx.price.findFirst({ where: { backendId, model: input.model }, orderBy: { effectiveFrom: "desc" } });
    if (latest && latest.effectiveFrom.getTime() >= effectiveFrom.getTime()) {
      throw new AppError(
        "conflict",
        `A price of ${input.model} already takes effect on ${latest.effectiveFrom.toISOString()}; a new price must take effect after it (prices are versioned, never rewritten).`,
        { code: "price_not_after_latest", param: "effectiveFrom" },
      );
    }
    const row = await tx.price.create({
      data: {
        id: newId("prc"),
        backendId,
        model: input.model,
        currency,
        inputNanoPerM: parseAmount(input.input)!,
        cachedInputNanoPerM: input.cachedInput == null ? null : parseAmount(input.cachedInput)!,
        outputNanoPerM: parseAmount(input.output)!,
        requestNano: input.perRequest ? parseAmount(input.perRequest)! : 0n,
        effectiveFrom,
        source,
        createdById: actor.userId,
      },
    });
    await recordAudit(tx, actor, {
      action: "price.set",
      targetType: "price",
      targetId: row.id,
      data: { model: row.model, backendId: backendId || null, currency, input: input.input, cachedInput: input.cachedInput ?? null, output: input.output, perRequest: input.perRequest ?? "0", effectiveFrom: effectiveFrom.toISOString() },
    });
    return row;
  });
  await priceBook().changed();
  return view(created, await backendNames(db));
}

/** The price in force now of every priced model (and any version scheduled after it). */
export async function listPrices(db: Db, now: Date = new Date()): Promise<{ currency: string; current: PriceView[]; scheduled: PriceView[] }> {
  const [rows, backends] = await Promise.all([db.price.findMany({ orderBy: [{ model: "asc" }, { backendId: "asc" }, { effectiveFrom: "desc" }] }), backendNames(db)]);
  const current: PriceView[] = [];
  const scheduled: PriceView[] = [];
  const done = new Set<string>();
  for (const r of rows) {
    const k = `${r.backendId}\u0000${r.model}`;
    if (r.effectiveFrom.getTime() > now.getTime()) scheduled.push(view(r, backends));
    else if (!done.has(k)) {
      done.add(k);
      current.push(view(r, backends));
    }
  }
  return { currency: env().SPEND_CURRENCY, current, scheduled };
}

/** Every version of one price, newest first. */
export async function priceHistory(db: Db, raw: PriceHistoryInput): Promise<PriceView[]> {
  const input = PriceHistoryInput.parse(raw);
  const [rows, backends] = await Promise.all([
    db.price.findMany({ where: { model: input.model, backendId: input.backendId || "" }, orderBy: { effectiveFrom: "desc" } }),
    backendNames(db),
  ]);
  return rows.map((r) => view(r, backends));
}

/** The seed list shipped in the repository (server/services/pricing/seed-prices.json). */
export function seedPrices(): SeedPriceList {
  return SeedPriceList.parse(seedList);
}

/**
 * Imports a seed list: a model-wide price, effective now, for each model that has none
 * yet — or, with `overwrite`, a new version for every model in the list (older versions
 * and the rows they costed stay as they were). One audit row for the import.
 */
export async function importSeedPrices(db: Db, actor: Actor, raw: ImportSeedInput = {}, list: SeedPriceList = seedPrices()) {
  const { overwrite } = ImportSeedInput.parse(raw);
  const parsed = SeedPriceList.parse(list);
  const currency = env().SPEND_CURRENCY;
  if (parsed.currency !== currency) {
    throw new AppError("invalid", `The seed list is in ${parsed.currency}, but this server's prices are in ${currency} (SPEND_CURRENCY).`, {
      code: "currency_mismatch",
    });
  }
  const now = new Date();
  const result = await db.$transaction(async (tx) => {
    const latest = await tx.price.groupBy({ by: ["model"], where: { backendId: "" }, _max: { effectiveFrom: true } });
    const latestOf = new Map(latest.map((l) => [l.model, l._max.effectiveFrom]));
    const added: string[] = [];
    const skipped: string[] = [];
    for (const p of parsed.prices) {
      const last = latestOf.get(p.model);
      // never slip a version in before one that exists (a price scheduled ahead keeps its place)
      if ((last && !overwrite) || (last && last.getTime() >= now.getTime())) {
        skipped.push(p.model);
        continue;
      }
      await tx.price.create({
        data: {
          id: newId("prc"),
          backendId: "",
          model: p.model,
          currency,
          inputNanoPerM: parseAmount(p.input)!,
          cachedInputNanoPerM: p.cachedInput ? parseAmount(p.cachedInput)! : null,
          outputNanoPerM: parseAmount(p.output)!,
          requestNano: 0n,
          effectiveFrom: now,
          source: "seed",
          createdById: actor.userId,
        },
      });
      added.push(p.model);
    }
    await recordAudit(tx, actor, { action: "price.import_seed", targetType: "price", data: { asOf: parsed.asOf, overwrite, added, skipped: skipped.length } });
    return { added, skipped };
  });
  await priceBook().changed();
  return result;
}
