/**
 * A small renderer for the subset of Helm's template language our chart uses (there is
 * no Helm binary offline). Supported, with Go template semantics:
 *   - actions `{{ … }}` with `{{-` / `-}}` whitespace trimming, comments `{{/* … *\/}}`;
 *   - `if` / `else if` / `else` / `end` (Go truthiness: false, 0, "", nil, empty list/map
 *     are false), `with` / `end` (rebinds `.`), `range` / `end` over lists (rebinds `.`);
 *   - values: `.Values.a.b`, `.Release.Name|Namespace|Service`, `.Chart.Name|Version|AppVersion`,
 *     `.` and `.field` inside with/range, `$` (the root), string/number/bool literals,
 *     parenthesised sub-expressions and pipelines `x | f a`;
 *   - functions: default, quote, toYaml, indent, nindent, not, and, or, eq, ne, gt, lt,
 *     required, fail, b64enc, toString, trimSuffix, printf (%s %d %v only), empty.
 * Anything else (define/include/tpl/lookup, variables `$x :=`) throws, so the chart
 * cannot silently use a feature this renderer would get wrong.
 */
import { stringify } from "yaml";

export interface RenderContext {
  Values: Record<string, unknown>;
  Release: { Name: string; Namespace: string; Service?: string };
  Chart: { Name: string; Version: string; AppVersion: string };
}

type Node =
  | { t: "text"; v: string }
  | { t: "out"; expr: string }
  | { t: "if"; branches: { cond: string | null; body: Node[] }[] }
  | { t: "with" | "range"; expr: string; body: Node[]; else: Node[] };

function tokenize(src: string): ({ t: "text"; v: string } | { t: "action"; v: string })[] {
  const out: ({ t: "text"; v: string } | { t: "action"; v: string })[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf("{{", i);
    if (open < 0) {
      out.push({ t: "text", v: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    const close = src.indexOf("}}", open);
    if (close < 0) throw new Error("unclosed {{");
    let inner = src.slice(open + 2, close);
    if (inner.startsWith("-")) {
      text = text.replace(/\s+$/, "");
      inner = inner.slice(1);
    }
    let next = close + 2;
    if (inner.endsWith("-")) {
      inner = inner.slice(0, -1);
      while (next < src.length && /\s/.test(src[next]!)) next++;
    }
    out.push({ t: "text", v: text });
    inner = inner.trim();
    if (!(inner.startsWith("/*") && inner.endsWith("*/"))) out.push({ t: "action", v: inner });
    i = next;
  }
  return out;
}

function parse(src: string): Node[] {
  const tokens = tokenize(src);
  let pos = 0;
  const block = (terminators: string[]): { body: Node[]; end: string } => {
    const body: Node[] = [];
    while (pos < tokens.length) {
      const tok = tokens[pos++]!;
      if (tok.t === "text") {
        if (tok.v) body.push({ t: "text", v: tok.v });
        continue;
      }
      const word = /^(\S+)/.exec(tok.v)?.[1] ?? "";
      if (terminators.includes(word) || (word === "else" && terminators.includes("else"))) return { body, end: tok.v };
      if (word === "if") {
        const branches: { cond: string | null; body: Node[] }[] = [];
        let cond: string | null = tok.v.slice(2).trim();
        for (;;) {
          const r = block(["else", "end"]);
          branches.push({ cond, body: r.body });
          if (r.end === "end") break;
          const rest = r.end.slice(4).trim();
          cond = rest.startsWith("if ") ? rest.slice(3).trim() : rest === "" ? null : (() => { throw new Error(`unsupported: {{ ${r.end} }}`); })();
          if (cond === null) {
            const last = block(["end"]);
            branches.push({ cond: null, body: last.body });
            break;
          }
        }
        body.push({ t: "if", branches });
      } else if (word === "with" || word === "range") {
        const expr = tok.v.slice(word.length).trim();
        if (/^\$\w+.*:=/.test(expr)) throw new Error(`unsupported: variables in {{ ${tok.v} }}`);
        const r = block(["else", "end"]);
        const els = r.end === "end" ? [] : block(["end"]).body;
        body.push({ t: word, expr, body: r.body, else: els });
      } else if (["define", "include", "template", "tpl", "block", "lookup"].includes(word) || /^\$\w+\s*:?=/.test(tok.v)) {
        throw new Error(`unsupported template feature: {{ ${tok.v} }}`);
      } else body.push({ t: "out", expr: tok.v });
    }
    if (terminators.length) throw new Error(`missing {{ end }} (open block expects ${terminators.join("/")})`);
    return { body, end: "" };
  };
  return block([]).body;
}

const truthy = (v: unknown): boolean =>
  !(v === undefined || v === null || v === false || v === 0 || v === "" || (Array.isArray(v) && v.length === 0) || (typeof v === "object" && !Array.isArray(v) && Object.keys(v as object).length === 0));

function toYaml(v: unknown): string {
  if (v === undefined || v === null) return "null";
  return stringify(v, { lineWidth: 0 }).replace(/\n$/, "");
}

const indent = (n: number, s: string) => s.split("\n").map((l) => " ".repeat(n) + l).join("\n");

type Scope = { root: RenderContext; dot: unknown };

function lookupPath(base: unknown, path: string[]): unknown {
  let cur = base;
  for (const p of path) {
    if (cur === undefined || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** Splits an expression into words, keeping "strings" and (parenthesised) groups whole. */
function words(expr: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    let j = i;
    if (c === '"') {
      j++;
      while (j < expr.length && expr[j] !== '"') j += expr[j] === "\\" ? 2 : 1;
      j++;
    } else if (c === "(") {
      let depth = 0;
      for (; j < expr.length; j++) {
        if (expr[j] === '"') {
          j++;
          while (expr[j] !== '"') j += expr[j] === "\\" ? 2 : 1;
        } else if (expr[j] === "(") depth++;
        else if (expr[j] === ")" && --depth === 0) break;
      }
      j++;
    } else if (c === "|") j++;
    else while (j < expr.length && !/[\s|()]/.test(expr[j]!)) j++;
    out.push(expr.slice(i, j));
    i = j;
  }
  return out;
}

function evalExpr(expr: string, scope: Scope): unknown {
  const parts: string[][] = [[]];
  for (const w of words(expr)) {
    if (w === "|") parts.push([]);
    else parts.at(-1)!.push(w);
  }
  let value: unknown;
  parts.forEach((cmd, i) => {
    if (!cmd.length) throw new Error(`empty command in {{ ${expr} }}`);
    value = evalCommand(cmd, scope, i > 0 ? { value } : undefined);
  });
  return value;
}

function evalArg(w: string, scope: Scope): unknown {
  if (w.startsWith("(")) return evalExpr(w.slice(1, -1), scope);
  if (w.startsWith('"')) return JSON.parse(w) as string;
  if (/^-?\d+(\.\d+)?$/.test(w)) return Number(w);
  if (w === "true" || w === "false") return w === "true";
  if (w === "nil") return undefined;
  if (w === ".") return scope.dot;
  if (w === "$") return scope.root;
  if (w.startsWith("$.")) return lookupPath(scope.root, w.slice(2).split("."));
  if (w.startsWith(".")) {
    const path = w.slice(1).split(".");
    if (["Values", "Release", "Chart"].includes(path[0]!) && scope.dot === scope.root) return lookupPath(scope.root, path);
    return lookupPath(scope.dot, path);
  }
  throw new Error(`cannot evaluate "${w}"`);
}

function evalCommand(cmd: string[], scope: Scope, piped?: { value: unknown }): unknown {
  const [head, ...rest] = cmd as [string, ...string[]];
  const fnName = /^[a-zA-Z]\w*$/.test(head) && !["true", "false", "nil"].includes(head) ? head : undefined;
  if (!fnName) {
    if (rest.length || piped) throw new Error(`"${head}" is not a function`);
    return evalArg(head, scope);
  }
  const args = rest.map((w) => evalArg(w, scope));
  if (piped) args.push(piped.value);
  const n = (i: number) => Number(args[i]);
  const s = (v: unknown) => (v === undefined || v === null ? "" : typeof v === "object" ? toYaml(v) : String(v));
  switch (fnName) {
    case "default":
      return truthy(args[1]) ? args[1] : args[0];
    case "quote":
      return JSON.stringify(s(args[0]));
    case "toYaml":
      return toYaml(args[0]);
    case "toString":
      return s(args[0]);
    case "indent":
      return indent(n(0), s(args[1]));
    case "nindent":
      return "\n" + indent(n(0), s(args[1]));
    case "not":
      return !truthy(args[0]);
    case "empty":
      return !truthy(args[0]);
    case "and":
      return args.reduce((a, b) => (truthy(a) ? b : a));
    case "or":
      return args.find(truthy) ?? args.at(-1);
    case "eq":
      return args.slice(1).some((b) => b === args[0]);
    case "ne":
      return args[0] !== args[1];
    case "gt":
      return n(0) > n(1);
    case "lt":
      return n(0) < n(1);
    case "required":
      if (!truthy(args[1])) throw new Error(`required: ${s(args[0])}`);
      return args[1];
    case "fail":
      throw new Error(`fail: ${s(args[0])}`);
    case "b64enc":
      return Buffer.from(s(args[0])).toString("base64");
    case "trimSuffix":
      return s(args[1]).endsWith(s(args[0])) ? s(args[1]).slice(0, -s(args[0]).length || undefined) : s(args[1]);
    case "printf": {
      let k = 1;
      return s(args[0]).replace(/%[sdv]/g, () => s(args[k++]));
    }
    default:
      throw new Error(`unsupported function ${fnName}`);
  }
}

function run(nodes: Node[], scope: Scope): string {
  let out = "";
  for (const node of nodes) {
    if (node.t === "text") out += node.v;
    else if (node.t === "out") {
      const v = evalExpr(node.expr, scope);
      out += v === undefined || v === null ? "" : typeof v === "object" ? toYaml(v) : String(v);
    } else if (node.t === "if") {
      const b = node.branches.find((br) => br.cond === null || truthy(evalExpr(br.cond, scope)));
      if (b) out += run(b.body, scope);
    } else if (node.t === "with") {
      const v = evalExpr(node.expr, scope);
      out += truthy(v) ? run(node.body, { root: scope.root, dot: v }) : run(node.else, scope);
    } else {
      const v = evalExpr(node.expr, scope);
      if (truthy(v)) {
        if (!Array.isArray(v)) throw new Error(`range over a non-list: ${node.expr}`);
        for (const item of v) out += run(node.body, { root: scope.root, dot: item });
      } else out += run(node.else, scope);
    }
  }
  return out;
}

export function renderTemplate(src: string, ctx: RenderContext): string {
  return run(parse(src), { root: ctx, dot: ctx });
}

/** Deep merge like Helm's values coalescing: maps merge, everything else replaces. */
export function mergeValues(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (base && over && typeof base === "object" && typeof over === "object" && !Array.isArray(base) && !Array.isArray(over)) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over as Record<string, unknown>)) out[k] = v === null ? undefined : mergeValues(out[k], v);
    return out;
  }
  return over;
}
