"use client";
import { createContext, useContext } from "react";

/**
 * The base path the app was built with, from the root layout (server/env.ts `builtBasePath`), so
 * client modules read no environment. fetch() and full-page URLs need it; <Link> and redirect()
 * add it themselves.
 */
const BasePathContext = createContext("");

export function BasePathProvider({ basePath, children }: { basePath: string; children: React.ReactNode }) {
  return <BasePathContext value={basePath}>{children}</BasePathContext>;
}

export function useBasePath(): string {
  return useContext(BasePathContext);
}
