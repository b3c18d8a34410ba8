import type { PolicyTarget } from "@/server/services/routing/schemas";

/**
 * A target from its <select> value: its key ("model:…", "alias:…", "backend:<id>/<model>",
 * see targetKey), which is also how the router and the usage log name it. Null when the
 * row has no target chosen.
 */
export function parseKey(key: string): PolicyTarget | null {
  const i = key.indexOf(":");
  const kind = key.slice(0, i);
  const rest = key.slice(i + 1);
  if (kind === "model") return { type: "model", model: rest };
  if (kind === "alias") return { type: "alias", alias: rest };
  if (kind === "backend") {
    const slash = rest.indexOf("/");
    return { type: "backend", backendId: rest.slice(0, slash), model: rest.slice(slash + 1) };
  }
  return null;
}
