/**
 * `prices list|set|history|seed` (the platform's price list) and `spend` (who spent
 * what, across tenants). Amounts are decimals in SPEND_CURRENCY per million tokens.
 * Registered in commands.ts.
 */
import { CLI_ACTOR } from "../services/audit/audit";
import { formatAmount } from "../lib/money";
import { importSeedPrices, listPrices, priceHistory, setPrice } from "../services/pricing/prices";
import { platformSpend } from "../services/usage/dashboard";
import { OverviewRange } from "../services/usage/schemas";
import type { Flags } from "./args";
import type { Command } from "./commands";
import { CliError, table } from "./format";

const str = (flags: Flags, name: string) => (typeof flags[name] === "string" ? (flags[name] as string) : undefined);

async function backendIdOf(db: ReturnType<Parameters<Command["run"]>[0]["db"]>, name: string | undefined): Promise<string | null> {
  if (!name) return null;
  const b = await db.backend.findFirst({ where: { OR: [{ name }, { id: name }] }, select: { id: true } });
  if (!b) throw new CliError(`there is no backend named "${name}"`);
  return b.id;
}

type PriceRow = Awaited<ReturnType<typeof listPrices>>["current"][number];
const priceTable = (rows: PriceRow[]) =>
  table(
    ["MODEL", "BACKEND", "INPUT/M", "CACHED/M", "OUTPUT/M", "PER REQ", "FROM", "SOURCE"],
    rows.map((p) => [p.model, p.backendName ?? (p.backendId ? p.backendId : "(any)"), p.input, p.cachedInput ?? "=input", p.output, p.perRequest, p.effectiveFrom.toISOString(), p.source]),
  );

export const priceCommands: Command[] = [
  {
    path: ["prices", "list"],
    summary: "Show the price in force of every priced model (and versions scheduled ahead)",
    flags: {},
    async run(ctx) {
      const list = await listPrices(ctx.db());
      const text = [
        `prices in ${list.currency} per million tokens (models not listed are unpriced; local models default to LOCAL_PRICE_PER_MTOK):`,
        list.current.length ? priceTable(list.current) : "  (none — `prices seed` imports the shipped list)",
        ...(list.scheduled.length ? ["scheduled:", priceTable(list.scheduled)] : []),
      ].join("\n");
      return { text, json: list };
    },
  },
  {
    path: ["prices", "set"],
    summary: "Add a price version for a model (everywhere, or on one backend); history is kept",
    flags: {
      model: { type: "string", value: "NAME", required: true, description: "The served model: a local model's name, or a backend's upstream model id" },
      backend: { type: "string", value: "NAME", description: "Only where this backend serves it (default: wherever it is served)" },
      input: { type: "string", value: "AMOUNT", required: true, description: "Per million input tokens, e.g. 0.15" },
      cached: { type: "string", value: "AMOUNT", description: "Per million cached input tokens (default: the input price)" },
      output: { type: "string", value: "AMOUNT", required: true, description: "Per million output tokens" },
      "per-request": { type: "string", value: "AMOUNT", description: "Per request that ran the model (default 0)" },
      currency: { type: "string", value: "CODE", description: "Must be the server's SPEND_CURRENCY (default USD)" },
      from: { type: "string", value: "ISO-DATE", description: "When it takes effect (default now); after the latest version" },
    },
    async run(ctx, flags) {
      const from = str(flags, "from");
      if (from !== undefined && Number.isNaN(new Date(from).getTime())) throw new CliError(`--from: expected a date like 2026-01-01T00:00:00Z, got "${from}"`);
      const p = await setPrice(
        ctx.db(),
        CLI_ACTOR,
        {
          model: str(flags, "model")!,
          backendId: await backendIdOf(ctx.db(), str(flags, "backend")),
          input: str(flags, "input")!,
          cachedInput: str(flags, "cached") ?? null,
          output: str(flags, "output")!,
          perRequest: str(flags, "per-request"),
          currency: str(flags, "currency"),
          effectiveFrom: from ? new Date(from) : undefined,
        },
        "cli",
      );
      return { text: `price of ${p.model}${p.backendName ? ` on ${p.backendName}` : ""} from ${p.effectiveFrom.toISOString()}:\n${priceTable([p])}`, json: p };
    },
  },
  {
    path: ["prices", "history"],
    summary: "Every version of a model's price, newest first",
    flags: {
      model: { type: "string", value: "NAME", required: true, description: "The served model" },
      backend: { type: "string", value: "NAME", description: "The backend's own price (default: the model-wide one)" },
    },
    async run(ctx, flags) {
      const rows = await priceHistory(ctx.db(), { model: str(flags, "model")!, backendId: await backendIdOf(ctx.db(), str(flags, "backend")) });
      return { text: rows.length ? priceTable(rows) : "no price (unpriced)", json: rows };
    },
  },
  {
    path: ["prices", "seed"],
    summary: "Import the shipped seed price list (server/services/pricing/seed-prices.json) for models without a price",
    flags: { overwrite: { type: "boolean", description: "Also add a new version for models that already have a price" } },
    async run(ctx, flags) {
      const r = await importSeedPrices(ctx.db(), CLI_ACTOR, { overwrite: flags.overwrite === true });
      return { text: `priced ${r.added.length} models${r.added.length ? ` (${r.added.join(", ")})` : ""}; kept ${r.skipped.length} existing prices`, json: r };
    },
  },
  {
    path: ["spend"],
    summary: "Spend per tenant (dearest first) over 24h, 7d or 30d",
    flags: { range: { type: "string", value: "24h|7d|30d", description: "The window (default 30d)" } },
    async run(ctx, flags) {
      const range = OverviewRange.safeParse(str(flags, "range") ?? "30d");
      if (!range.success) throw new CliError(`--range: expected 24h, 7d or 30d`);
      const s = await platformSpend(ctx.db(), range.data);
      const text = [
        `spend ${s.from} – ${s.to}: ${formatAmount(s.totalCostNano)} ${s.currency}${s.unpriced ? ` (+ ${s.unpriced} unpriced requests)` : ""}`,
        table(
          ["TENANT", "REQUESTS", "TOKENS", `COST (${s.currency})`, "UNPRICED"],
          s.tenants.map((t) => [t.slug ?? t.tenantId, String(t.requests), String(t.tokens), formatAmount(t.costNano), String(t.unpriced)]),
        ),
      ].join("\n");
      return { text, json: s };
    },
  },
];
