import { completions } from "@/server/api/v1/chat";
import { v1Route } from "@/server/api/v1/handler";
import { CompletionRequest } from "@/server/api/v1/schemas";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";
export const POST = v1Route({ endpoint: "completions", scope: "completions", schema: CompletionRequest }, completions);
