/** Headers every answer carries: next.config.ts gives them to Next's answers, the /api/v1 fast path to its own. */
export const SECURITY_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "same-origin",
  "X-Frame-Options": "DENY",
};
