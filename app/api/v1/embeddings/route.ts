import { embeddings } from "@/server/api/v1/embeddings";
import { v1Route } from "@/server/api/v1/handler";
import { EmbeddingRequest } from "@/server/api/v1/schemas";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";
export const POST = v1Route({ endpoint: "embeddings", scope: "embeddings", schema: EmbeddingRequest }, embeddings);
