/** The dry run's conversation box as messages. */

export type DryRunMessage = { role: "system" | "user" | "assistant"; content: string | ({ type: "text"; text: string } | { type: "image"; url: string })[] };
type TextMessage = { role: "system" | "user" | "assistant"; content: string };

/** "user: …" / "assistant: …" / "system: …" lines; a line without a prefix continues the previous message. */
export function parseConversation(text: string): TextMessage[] {
  const out: TextMessage[] = [];
  for (const line of text.split("\n")) {
    const m = /^(system|user|assistant):\s?(.*)$/i.exec(line);
    if (m) out.push({ role: m[1]!.toLowerCase() as TextMessage["role"], content: m[2]! });
    else if (out.length) out[out.length - 1]!.content += `\n${line}`;
    else if (line.trim()) out.push({ role: "user", content: line });
  }
  return out;
}

/** The conversation with an image attached to its last user message (routing only looks at whether there is one). */
export function withImage(messages: TextMessage[]): DryRunMessage[] {
  const last = messages.map((m) => m.role).lastIndexOf("user");
  return messages.map((m, i) => (i === last ? { ...m, content: [{ type: "text", text: m.content }, { type: "image", url: "https://example.invalid/dry-run.png" }] } : m));
}
