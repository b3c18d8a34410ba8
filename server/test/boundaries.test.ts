// The layer rules (eslint/boundaries.mjs) on sample files: each forbidden edge is reported,
// each allowed one is not — so a rule that silently stops matching fails here.
import path from "node:path";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const eslint = new ESLint({ cwd: root });

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result!.messages.filter((m) => m.ruleId === "no-restricted-imports" || m.ruleId === "switchyard/client-imports").map((m) => m.ruleId!);
}

describe("layer boundaries", () => {
  it.each([
    ["server/auth/x.ts", 'import { createApiKey } from "../services/api-keys/api-keys";\nexport { createApiKey };'],
    ["server/inference/x.ts", 'import type { ModelRow } from "@/server/services/models/models";\nexport type { ModelRow };'],
    ["server/ratelimit/x.ts", 'import { v1Route } from "../api/v1/handler";\nexport { v1Route };'],
    ["server/services/x/y.ts", 'import { appRouter } from "../../trpc/root";\nexport { appRouter };'],
    ["server/services/x/y.ts", 'import { x } from "@/app/_lib/trpc";\nexport { x };'],
    ["server/cli/x.ts", 'import { appRouter } from "../trpc/root";\nexport { appRouter };'],
    ["server/metrics/x.ts", 'import type { LocalModelStatus } from "../inference/local-pool";\nexport type { LocalModelStatus };'],
    ["server/routing/x.ts", 'import { db } from "../db/client";\nexport { db };'],
    ["server/lib/x.ts", 'import { db } from "../db/client";\nexport { db };'],
    ["app/(console)/x.tsx", '"use client";\nimport { createApiKey } from "@/server/services/api-keys/api-keys";\nexport const X = createApiKey;'],
    ["server/services/x/schemas.ts", 'import { db } from "../../db/client";\nexport { db };'],
  ])("%s: forbidden import is reported", async (file, code) => {
    expect((await problems(file, code)).length).toBeGreaterThan(0);
  });

  it.each([
    ["server/services/x/y.ts", 'import { verifyApiKey } from "../../auth/verify-api-key";\nexport { verifyApiKey };'],
    ["server/services/x/y.ts", 'import { createApiKey } from "../api-keys/api-keys";\nexport { createApiKey };'],
    ["server/trpc/x.ts", 'import { createApiKey } from "../services/api-keys/api-keys";\nexport { createApiKey };'],
    ["server/inference/x.ts", 'import { metrics } from "../metrics/metrics";\nexport { metrics };'],
    ["app/(console)/x.tsx", '"use client";\nimport type { ApiKeyView } from "@/server/services/api-keys/api-keys";\nimport { CreateApiKeyInput } from "@/server/services/api-keys/schemas";\nimport { formatMoney } from "@/server/lib/money";\nexport type { ApiKeyView };\nexport const X = [CreateApiKeyInput, formatMoney];'],
    ["app/api/x/route.ts", 'import { db } from "@/server/db/client";\nexport { db };'],
  ])("%s: allowed import passes", async (file, code) => {
    expect(await problems(file, code)).toEqual([]);
  });
});
