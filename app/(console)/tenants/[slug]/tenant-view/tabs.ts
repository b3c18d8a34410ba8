import type { Role } from "../roles";

/** The tenant page's tabs, in order, each with the least role that sees it. */
export const TABS = [
  { id: "overview", label: "Overview", min: "viewer" },
  { id: "keys", label: "API keys", min: "viewer" },
  { id: "usage", label: "Usage log", min: "viewer" },
  { id: "aliases", label: "Aliases", min: "viewer" },
  { id: "playground", label: "Playground", min: "member" },
  { id: "limits", label: "Limits", min: "viewer" },
  { id: "members", label: "Members", min: "viewer" },
  { id: "activity", label: "Activity", min: "viewer" },
  { id: "settings", label: "Settings", min: "viewer" },
] as const satisfies readonly { id: string; label: string; min: Role }[];
export type TabId = (typeof TABS)[number]["id"];

/** The tab named in the URL, or the first one. */
export const tabOf = (requested: string | null): TabId => TABS.find((t) => t.id === requested)?.id ?? "overview";
