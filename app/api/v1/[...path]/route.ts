// Unknown /api/v1 paths answer in the OpenAI error envelope rather than with an HTML page.
export const runtime = "nodejs";
export const dynamic = "force-dynamic";

function notFound(req: Request) {
  const path = new URL(req.url).pathname;
  return Response.json(
    { error: { message: `Unknown API route ${req.method} ${path}`, type: "invalid_request_error", param: null, code: "unknown_url" } },
    { status: 404 },
  );
}

export { notFound as GET, notFound as POST, notFound as PUT, notFound as PATCH, notFound as DELETE };
