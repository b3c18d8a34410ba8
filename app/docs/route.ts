import { env } from "@/server/env";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

// Interactive API reference: Swagger UI served from our own origin (no CDN, no
// fonts, no validator badge), reading the OpenAPI document generated from our schemas.
export function GET() {
  const base = env().BASE_PATH;
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchyard API reference</title>
<link rel="icon" href="${base}/icon.svg">
<link rel="stylesheet" href="${base}/docs/assets/swagger-ui.css">
<style>body{margin:0;font-family:ui-sans-serif,system-ui,sans-serif}.topbar{display:none}</style>
</head>
<body>
<div id="swagger"></div>
<script src="${base}/docs/assets/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: ${JSON.stringify(`${base}/api/v1/openapi.json`)},
  dom_id: "#swagger",
  validatorUrl: null,
  deepLinking: true,
  tryItOutEnabled: true,
  persistAuthorization: false,
  presets: [SwaggerUIBundle.presets.apis],
});
</script>
</body>
</html>`;
  return new Response(html, { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" } });
}
