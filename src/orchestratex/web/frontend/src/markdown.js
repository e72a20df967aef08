// Model output rendered as Markdown with TeX math: markdown-it (raw HTML off) and KaTeX turn it
// into HTML, which DOMPurify then sanitises before it reaches the page. Links open in a new tab
// and only for http(s) URLs; images are not rendered (no remote loads from model output).

import DOMPurify from "dompurify";
import MarkdownIt from "markdown-it";
import "katex/dist/katex.min.css";

import { h } from "./dom.js";
import { mathPlugin } from "./math.js";

const md = new MarkdownIt({ html: false, linkify: false, breaks: true, typographer: false });
md.disable(["image"]);
md.use(mathPlugin);

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName !== "A") return;
  const href = node.getAttribute("href") || "";
  if (!/^https?:\/\//i.test(href)) {
    node.removeAttribute("href");
    return;
  }
  node.setAttribute("target", "_blank");
  node.setAttribute("rel", "noopener noreferrer");
});

const PURIFY = {
  USE_PROFILES: { html: true, mathMl: true, svg: true },
  ADD_ATTR: ["target"],
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "img", "iframe"],
  RETURN_DOM_FRAGMENT: true,
};

export function renderMarkdown(source) {
  const html = md.render(String(source ?? ""));
  return h("div", { class: "markdown" }, DOMPurify.sanitize(html, PURIFY));
}
