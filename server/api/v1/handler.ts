/**
 * The gateway pipeline (server/services/gateway/pipeline.ts) bound to the OpenAI
 * dialect: route files are one line, `export const POST = v1Route({...}, handler)`.
 */
import "server-only";
import type { z } from "zod";
import { type RouteOptions, gatewayRoute } from "../../services/gateway/pipeline";
import type { GatewayContext } from "../../services/gateway/types";
import { openaiDialect } from "./errors";

export type V1Context = GatewayContext;

export function v1Route<S extends z.ZodType | undefined>(
  opts: RouteOptions<S>,
  handler: (ctx: GatewayContext, body: S extends z.ZodType ? z.output<S> : undefined, req: Request) => Promise<Response>,
) {
  return gatewayRoute(openaiDialect, opts, handler);
}
