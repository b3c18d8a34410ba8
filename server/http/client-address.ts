/**
 * The caller's IP address for IP allowlists — never a value the caller can forge.
 *
 * A route handler (App Router) sees no socket. So at start-up we wrap the Node HTTP
 * server's "request" event (installPeerStamp, from server/startup.ts; the integration
 * test server calls it too): every incoming request gets `x-switchyard-peer` set to
 * the socket's remote address, overwriting whatever the client sent under that name.
 *
 *   TRUST_PROXY = N ≥ 1   the client is what the N trusted proxies report in
 *                         X-Forwarded-For (server/http/forwarded.ts: clientIp);
 *                         with no X-Forwarded-For at all, the socket address
 *   TRUST_PROXY = 0       the socket address; X-Forwarded-For is ignored entirely
 *
 * Without the stamp (a server we did not start) the address is unknown (null), and
 * every allowlist refuses an unknown address: failing closed.
 */
import http from "node:http";
import https from "node:https";
import { processSlot } from "../runtime/registry";
import { clientIp } from "./forwarded";

export const PEER_HEADER = "x-switchyard-peer";
/** Whether the servers' "request" event is wrapped (once per process, whichever bundle installs it). */
const installed = processSlot("http.peerStamp", () => false);

type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;

/** Sets the peer header from the socket, dropping any copy the client sent (also from rawHeaders, which some code reads). Idempotent. */
export function stampPeer(req: http.IncomingMessage): void {
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) {
    if (raw[i]!.toLowerCase() === PEER_HEADER) raw.splice(i, 2);
  }
  const peer = req.socket?.remoteAddress ?? "";
  req.headers[PEER_HEADER] = peer;
  if (peer) raw.push(PEER_HEADER, peer);
}

function stamp(proto: { emit: Emit }) {
  const emit = proto.emit;
  proto.emit = function (this: unknown, event: string | symbol, ...args: unknown[]) {
    if (event === "request") stampPeer(args[0] as http.IncomingMessage);
    return emit.call(this, event, ...args);
  };
}

/** Idempotent, once per process: http and https servers (`next dev --experimental-https`). */
export function installPeerStamp(): void {
  if (installed.get()) return;
  stamp(http.Server.prototype as unknown as { emit: Emit });
  stamp(https.Server.prototype as unknown as { emit: Emit });
  installed.set(true);
}

export function peerStampInstalled(): boolean {
  return installed.get();
}

/** The address allowlists are checked against, or null when it cannot be known. */
export function clientAddress(headers: Headers, trustProxy: number): string | null {
  const peer = peerStampInstalled() ? headers.get(PEER_HEADER) || null : null;
  if (trustProxy >= 1) return clientIp(headers, trustProxy) ?? peer;
  return peer;
}
