// A markdown-it plugin for TeX math, rendered by KaTeX: \( ... \) and $ ... $ inline,
// \[ ... \] and $$ ... $$ as display math. It runs before markdown's backslash escapes, which
// would otherwise turn "\(" into "(" and mangle the formula.

import katex from "katex";

const PAIRS = [
  ["\\(", "\\)", false],
  ["\\[", "\\]", true],
  ["$$", "$$", true],
];

function isSpace(ch) {
  return ch === " " || ch === "\t" || ch === "\n";
}

// Single-dollar math, guarded against prices: "$5 and $10" is not math.
function singleDollar(src, pos) {
  if (src[pos] !== "$" || src[pos + 1] === "$" || isSpace(src[pos + 1] ?? " ")) return -1;
  for (let end = pos + 1; end < src.length; end += 1) {
    if (src[end] === "\n" && src[end + 1] === "\n") return -1;
    if (src[end] !== "$" || src[end - 1] === "\\") continue;
    if (isSpace(src[end - 1]) || /[0-9]/.test(src[end + 1] ?? "")) return -1;
    return end;
  }
  return -1;
}

function mathRule(state, silent) {
  const { src, pos } = state;
  for (const [open, close, display] of PAIRS) {
    if (!src.startsWith(open, pos)) continue;
    const end = src.indexOf(close, pos + open.length);
    if (end < 0 || !src.slice(pos + open.length, end).trim()) return false;
    if (!silent) {
      const token = state.push("math", "", 0);
      token.content = src.slice(pos + open.length, end);
      token.meta = { display };
    }
    state.pos = end + close.length;
    return true;
  }
  const end = singleDollar(src, pos);
  if (end < 0) return false;
  if (!silent) {
    const token = state.push("math", "", 0);
    token.content = src.slice(pos + 1, end);
    token.meta = { display: false };
  }
  state.pos = end + 1;
  return true;
}

export function renderTex(tex, display) {
  return katex.renderToString(tex, {
    displayMode: display,
    throwOnError: false, // a bad formula shows as red source text, never breaks the page
    trust: false, // no \href, \includegraphics, \htmlClass ...
    strict: "ignore",
    maxSize: 20,
    maxExpand: 500,
    output: "htmlAndMathml",
  });
}

export function mathPlugin(md) {
  md.inline.ruler.before("escape", "math", mathRule);
  md.renderer.rules.math = (tokens, idx) => renderTex(tokens[idx].content, tokens[idx].meta.display);
}
