// Side-by-side word diff of two answers (jsdiff).

import { diffWordsWithSpace } from "diff";
import { h } from "./dom.js";

export function renderSideBySide(before, after) {
  const left = h("pre", { class: "diff-side diff-before" });
  const right = h("pre", { class: "diff-side diff-after" });
  let added = 0;
  let removed = 0;
  for (const part of diffWordsWithSpace(before || "", after || "")) {
    if (part.added) {
      added += part.value.length;
      right.append(h("ins", {}, part.value));
    } else if (part.removed) {
      removed += part.value.length;
      left.append(h("del", {}, part.value));
    } else {
      left.append(part.value);
      right.append(part.value);
    }
  }
  const summary = h("p", { class: "muted" }, `characters removed: ${removed}, added: ${added}`);
  return h("div", { class: "diff" }, summary, h("div", { class: "diff-grid" }, left, right));
}

// A picker over successive rounds: "round n-1 -> round n".
export function renderRoundDiff(rounds) {
  const ordered = [...rounds].filter((r) => r.text).sort((a, b) => a.round - b.round);
  if (ordered.length < 2) return h("p", { class: "muted" }, "A diff appears once there are two rounds.");
  const select = h("select", { "aria-label": "rounds to compare", class: "diff-select" });
  for (let n = 1; n < ordered.length; n += 1) {
    const label = `round ${ordered[n - 1].round} → round ${ordered[n].round}`;
    select.append(h("option", { value: String(n) }, label));
  }
  select.value = String(ordered.length - 1);
  const body = h("div");
  const show = () => {
    const n = Number(select.value);
    body.replaceChildren(
      h(
        "div",
        { class: "diff-heads" },
        h("span", {}, `round ${ordered[n - 1].round} (${ordered[n - 1].model})`),
        h("span", {}, `round ${ordered[n].round} (${ordered[n].model})`),
      ),
      renderSideBySide(ordered[n - 1].text, ordered[n].text),
    );
  };
  select.addEventListener("change", show);
  show();
  return h("div", { class: "round-diff" }, select, body);
}
