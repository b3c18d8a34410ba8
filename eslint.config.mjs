// ESLint flat config: typescript-eslint, the Next.js rules and React hooks rules.
// (eslint-config-next is not used: its import resolver pulls per-platform binaries
// that this registry doesn't serve, which breaks `npm ci` from the lockfile.)
import nextPlugin from "@next/eslint-plugin-next";
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";
import { boundaries, clientBoundary } from "./eslint/boundaries.mjs";

export default tseslint.config(
  {
    ignores: [
      "node_modules/**",
      ".next/**",
      ".tmp/**",
      "server/db/generated/**",
      "prisma/generated/**",
      "test-results/**",
      "playwright-report/**",
      "next-env.d.ts",
    ],
  },
  ...tseslint.configs.recommended,
  {
    plugins: { "@next/next": nextPlugin, "react-hooks": reactHooks },
    rules: {
      ...nextPlugin.configs.recommended.rules,
      ...nextPlugin.configs["core-web-vitals"].rules,
      "react-hooks/rules-of-hooks": "error",
      "react-hooks/exhaustive-deps": "warn",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  ...boundaries,
  clientBoundary,
);
