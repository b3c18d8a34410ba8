import { describe, expect, it } from "vitest";
import { sseData } from "./remote";

/** A body that delivers `text` in the given pieces, as a network would. */
function body(pieces: string[]) {
  const enc = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of pieces) c.enqueue(enc.encode(p));
      c.close();
    },
  });
}

async function collect(pieces: string[]) {
  const out: string[] = [];
  for await (const d of sseData(body(pieces))) out.push(d);
  return out;
}

describe("sseData", () => {
  it("yields each event's data however the bytes are split", async () => {
    const text = 'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n';
    const whole = await collect([text]);
    expect(whole).toEqual(['{"a":1}', '{"b":2}', "[DONE]"]);
    for (let cut = 1; cut < text.length; cut++) expect(await collect([text.slice(0, cut), text.slice(cut)])).toEqual(whole);
    expect(await collect(text.split(""))).toEqual(whole);
  });

  it("handles CRLF, comments and keep-alives, event names, multi-line data, and a last event without a blank line", async () => {
    const out = await collect([": ping\r\n\r\nevent: message\r\ndata: one\r\ndata: two\r\n\r\ndata:no-space\n\ndata: tail"]);
    expect(out).toEqual(["one\ntwo", "no-space", "tail"]);
  });

  it("keeps multi-byte characters split across reads intact", async () => {
    const bytes = new TextEncoder().encode('data: {"t":"héllo ✓"}\n\n');
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]));
        c.close();
      },
    });
    const out: string[] = [];
    for await (const d of sseData(stream)) out.push(d);
    expect(out).toEqual(['{"t":"héllo ✓"}']);
  });
});
