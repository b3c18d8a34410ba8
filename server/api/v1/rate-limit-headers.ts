/**
 * The limiter's AdmissionReport as response headers, in OpenAI's names and formats
 * (`x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, reset as "1.5s"), plus
 * Switchyard's money budget (`x-switchyard-budget-*`). Every dialect answers with these
 * today (clients written against OpenAI read them); a dialect with its own names would
 * render the same report differently.
 */
import { env } from "../../env";
import { formatAmount } from "../../lib/money";
import type { AdmissionReport, WindowReport } from "../../ratelimit/limiter";

/** OpenAI's reset format: "20ms", "1s", "1.5s", "6m0s". */
export function formatDuration(ms: number): string {
  if (ms <= 0) return "0s";
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  const totalSeconds = Math.ceil(ms / 100) / 10;
  if (totalSeconds < 60) return `${Number.isInteger(totalSeconds) ? totalSeconds : totalSeconds.toFixed(1)}s`;
  const m = Math.floor(totalSeconds / 60);
  return `${m}m${Math.round(totalSeconds - m * 60)}s`;
}

function windowHeaders(headers: Record<string, string>, suffix: "requests" | "tokens", w: WindowReport | undefined) {
  if (!w) return;
  headers[`x-ratelimit-limit-${suffix}`] = String(w.limit);
  headers[`x-ratelimit-remaining-${suffix}`] = String(w.remaining);
  headers[`x-ratelimit-reset-${suffix}`] = formatDuration(w.resetMs);
}

export function rateLimitHeaders(report: AdmissionReport): Record<string, string> {
  const headers: Record<string, string> = {};
  windowHeaders(headers, "requests", report.requests);
  windowHeaders(headers, "tokens", report.tokens);
  if (report.spend) {
    headers["x-switchyard-budget-limit-spend"] = formatAmount(BigInt(report.spend.limitNano));
    headers["x-switchyard-budget-remaining-spend"] = formatAmount(BigInt(report.spend.remainingNano));
    headers["x-switchyard-budget-period-spend"] = report.spend.period;
    headers["x-switchyard-budget-currency"] = env().SPEND_CURRENCY;
  }
  if (report.budgetWarnings.length) headers["x-switchyard-budget-warning"] = report.budgetWarnings.join("; ");
  return headers;
}
