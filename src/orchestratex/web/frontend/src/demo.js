// The offline demo (replay mode): its banner and the picker of recorded prompts.
// In live mode all of this stays hidden.

import { api } from "./api.js";
import { $, h } from "./dom.js";

const LIMIT = 50;

export const NOT_RECORDED_HINT =
  "The offline demo can only replay recorded prompts: pick one from the recorded prompts list above the prompt box.";

export class DemoPicker {
  constructor({ onError }) {
    this.onError = onError;
    this.replay = false;
    this.root = $("#demo-picker");
    this.list = $("#demo-list");
    this.info = $("#demo-info");
    this.source = $("#demo-source");
    this.query = $("#demo-q");
    this.prompt = $("#prompt");
    this.searchSeq = 0;
    $("#demo-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.search().catch(onError);
    });
    this.source.addEventListener("change", () => this.search().catch(onError));
    // The "prompt box filled with ..." line is true only until the prompt is edited.
    this.picked = null;
    this.prompt.addEventListener("input", () => {
      if (this.picked !== null && this.prompt.value !== this.picked) this.clearPicked();
    });
    let typing = null;
    this.query.addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(() => this.search().catch(onError), 250);
    });
  }

  // Show or hide the banner and picker for the mode /healthz reports.
  setMode(mode) {
    this.replay = mode === "replay";
    $("#demo-banner").hidden = !this.replay;
    this.root.hidden = !this.replay;
    document.body.classList.toggle("replay-mode", this.replay);
  }

  async search() {
    if (!this.replay) return;
    const seq = ++this.searchSeq;
    const params = { source: this.source.value, q: this.query.value.trim(), limit: LIMIT };
    const page = await api("/api/demo/prompts", { params });
    if (seq !== this.searchSeq) return; // a newer search is under way
    this.list.replaceChildren(...page.items.map((item) => this.row(item)));
    const shown = page.items.length;
    this.info.textContent = shown
      ? `${shown === LIMIT ? "first " : ""}${shown} shown of ${page.total} recorded prompts`
      : `no recorded prompt matches (${page.total} in all)`;
  }

  row(item) {
    return h(
      "li",
      {},
      h(
        "button",
        {
          type: "button",
          class: "demo-item",
          dataset: { id: item.id },
          onclick: () => this.pick(item.id).catch(this.onError),
        },
        h("span", { class: "demo-id" }, item.id),
        h("span", { class: "demo-category" }, item.category),
        h("span", { class: "demo-preview" }, item.preview),
      ),
    );
  }

  clearPicked() {
    this.picked = null;
    $("#demo-picked").textContent = "";
    for (const button of this.list.querySelectorAll(".demo-item.selected")) {
      button.classList.remove("selected");
    }
  }

  // Fill the prompt box with the full recorded text of one prompt.
  async pick(id) {
    const detail = await api(`/api/demo/prompts/${encodeURIComponent(id)}`);
    this.prompt.value = detail.text;
    this.picked = detail.text;
    for (const button of this.list.querySelectorAll(".demo-item")) {
      button.classList.toggle("selected", button.dataset.id === id);
    }
    $("#demo-picked").textContent = `prompt box filled with ${detail.id} (${detail.source}, ${detail.category})`;
    $("#error").hidden = true;
    this.prompt.focus();
  }
}

// The error banner's text: a refused unrecorded prompt gets the hint to pick a recorded one.
export function explainError(error) {
  const message = error?.message || String(error);
  if (error?.code !== "not_recorded") return [message];
  return [h("strong", {}, "Not a recorded prompt. "), NOT_RECORDED_HINT, h("br"), h("span", { class: "muted" }, message)];
}
