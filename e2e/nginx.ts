/**
 * Runs a real nginx (Debian's) in the foreground on loopback, configured from the
 * example we ship (deploy/nginx/switchyard.conf) with only the base path, ports
 * and file locations changed — so the e2e run proves the shipped config works.
 * Started by Playwright as a second webServer when E2E_VIA=nginx; it stops nginx
 * with the process.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { E2E } from "./env";

/** The shipped config with the base path, upstream and listen address swapped in. */
export function renderSiteConfig(template: string, opts: { basePath: string; appPort: number; listen: string }): string {
  const expected = ["server 127.0.0.1:3000;", "listen 80;", "listen 80 default_server;", "server_name gateway.example.com;", "location = /llm {", "location /llm/ {"];
  const missing = expected.filter((line) => !template.includes(line));
  if (missing.length) {
    throw new Error(`deploy/nginx/switchyard.conf changed shape (no ${missing.join(", ")}); update e2e/nginx.ts to match`);
  }
  let site = template
    .replace("server 127.0.0.1:3000;", `server 127.0.0.1:${opts.appPort};`)
    .replaceAll(/listen 80( default_server)?;/g, `listen ${opts.listen}$1;`)
    .replace("server_name gateway.example.com;", "server_name localhost;");
  if (opts.basePath === "") {
    // At the root there is no bare prefix to special-case: one catch-all location.
    site = site.replace(/\n\s*location = \/llm \{[^}]*\}\n/, "\n").replace("location /llm/ {", "location / {");
  } else {
    site = site.replaceAll("location = /llm {", `location = ${opts.basePath} {`).replaceAll("location /llm/ {", `location ${opts.basePath}/ {`);
  }
  return site;
}

function main() {
  const dir = path.join(E2E.root, ".tmp/e2e-nginx");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const site = renderSiteConfig(readFileSync(path.join(E2E.root, "deploy/nginx/switchyard.conf"), "utf8"), {
    basePath: E2E.basePath,
    appPort: E2E.port,
    listen: `127.0.0.1:${E2E.nginxPort}`,
  });
  writeFileSync(path.join(dir, "switchyard.conf"), site);
  const asRoot = process.getuid?.() === 0;
  writeFileSync(
    path.join(dir, "nginx.conf"),
    [
      "daemon off;",
      // As root, workers would otherwise run as `nobody` and could not use our temp dirs.
      asRoot ? "user root;" : "",
      "worker_processes 1;",
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      "events { worker_connections 512; }",
      "http {",
      `  access_log ${dir}/access.log;`,
      ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${dir}/${t}_temp;`),
      `  include ${dir}/switchyard.conf;`,
      "}",
      "",
    ].join("\n"),
  );
  const bin = existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";
  const child = spawn(bin, ["-p", dir, "-c", path.join(dir, "nginx.conf")], { stdio: "inherit" });
  const stop = () => child.kill("SIGQUIT");
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) main();
