// The "History" page: searchable list of threads; a click opens a thread's stored detail.

import { api } from "./api.js";
import { $, fmtScore, fmtTime, fmtUsd, h } from "./dom.js";
import { RunView } from "./runview.js";

const PAGE = 25;

export class HistoryPage {
  constructor({ onTestTool, onError, onFollow }) {
    this.onError = onError;
    this.onFollow = onFollow;
    this.list = $("#history-list");
    this.info = $("#history-info");
    this.more = $("#history-more");
    this.view = new RunView($("#history-view"), { idPrefix: "history", onTestTool });
    this.query = "";
    this.offset = 0;
    $("#history-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.search($("#history-q").value).catch(onError);
    });
    this.more.addEventListener("click", () => this.load(true).catch(onError));
  }

  async search(query) {
    this.query = query.trim();
    this.offset = 0;
    await this.load(false);
  }

  async load(append) {
    const page = await api("/api/threads", { params: { q: this.query, limit: PAGE, offset: this.offset } });
    const rows = page.items.map((t) => this.row(t));
    if (append) this.list.append(...rows);
    else this.list.replaceChildren(...rows);
    this.offset += page.items.length;
    const shown = this.list.children.length;
    this.info.textContent = page.total
      ? `${shown} of ${page.total} threads${this.query ? ` matching “${this.query}”` : ""}`
      : `no threads${this.query ? ` match “${this.query}”` : " yet"}`;
    this.more.hidden = shown >= page.total;
  }

  row(thread) {
    return h(
      "tr",
      { class: "history-row", tabindex: "0", dataset: { threadId: thread.id }, onclick: () => this.open(thread.id).catch(this.onError) },
      h("td", {}, fmtTime(thread.created_at)),
      h("td", {}, h("span", { class: `status status-${thread.status}` }, thread.status)),
      h("td", { class: "preview" }, thread.prompt_preview),
      h("td", {}, thread.domain || "–"),
      h("td", {}, thread.selected_model || "–"),
      h("td", {}, fmtScore(thread.final_score)),
      h("td", {}, fmtUsd(thread.total_cost_usd)),
    );
  }

  async open(threadId) {
    const detail = await api(`/api/threads/${encodeURIComponent(threadId)}`);
    for (const row of this.list.children) row.classList.toggle("selected", row.dataset.threadId === threadId);
    this.view.loadDetail(detail);
    if (detail.thread.status === "queued" || detail.thread.status === "running") {
      this.view.summary.append(
        h("button", { type: "button", onclick: () => this.onFollow(threadId) }, "Follow live"),
      );
    }
    this.view.root.scrollIntoView({ block: "start" });
  }
}
