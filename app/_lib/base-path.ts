/** The base path baked in at build time (next.config.ts → env). fetch() needs it; <Link> and redirect() add it themselves. */
export const BASE_PATH = process.env.NEXT_PUBLIC_BASE_PATH ?? "";
