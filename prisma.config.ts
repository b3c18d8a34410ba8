// Prisma CLI config. Only `prisma generate` is run here (scripts/prisma-generate.ts);
// migrations are applied by server/db/migrate.ts — see CONTRIBUTING.md.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
});
