// The "Run" page: the prompt form, submission, cancellation and the live timeline.

import { api } from "./api.js";
import { $, h } from "./dom.js";
import { followThread } from "./live.js";
import { RunView } from "./runview.js";

const ACTIVE = new Set(["queued", "running"]);

export class RunPage {
  constructor({ onTestTool, onError }) {
    this.form = $("#prompt-form");
    this.notice = $("#run-notice");
    this.cancelButton = $("#cancel-button");
    this.onError = onError;
    this.view = new RunView($("#run-view"), { idPrefix: "run", onTestTool });
    this.follower = null;
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit().catch(onError);
    });
    this.cancelButton.addEventListener("click", () => this.cancel().catch(onError));
    for (const input of this.form.querySelectorAll("input[type=range]")) {
      const output = $(`output[for=${input.id}]`);
      const show = () => (output.textContent = Number(input.value).toFixed(2));
      input.addEventListener("input", show);
      show();
    }
  }

  fillModels(models) {
    const select = $("#allowed-models");
    // A judge-only model (the offline demo's recorded-judge) never answers: not offered here.
    select.replaceChildren(
      ...models.filter((m) => m.answers !== false).map((m) =>
        h(
          "option",
          { value: m.key, disabled: !(m.enabled && m.configured) },
          `${m.key} (${m.provider}, ${m.tier}${m.configured ? "" : ", not configured"})`,
        ),
      ),
    );
  }

  request() {
    const data = new FormData(this.form);
    const preferences = {
      quality_weight: Number(data.get("quality_weight")),
      cost_weight: Number(data.get("cost_weight")),
      latency_weight: Number(data.get("latency_weight")),
    };
    const allowed = data.getAll("allowed_models");
    if (allowed.length) preferences.allowed_models = allowed;
    const budget = String(data.get("budget_usd") || "").trim();
    if (budget) preferences.budget_usd = Number(budget);
    return {
      prompt: String(data.get("prompt") || ""),
      max_rounds: Number(data.get("max_rounds")),
      threshold: Number(data.get("threshold")),
      preferences,
    };
  }

  async submit() {
    const body = this.request();
    if (!body.prompt.trim()) throw new Error("Write a prompt first.");
    const submitted = await api("/api/orchestrate/prompt", { method: "POST", body });
    this.follow(submitted.thread_id);
  }

  follow(threadId) {
    this.follower?.close();
    this.view.reset(threadId);
    this.cancelButton.disabled = false;
    this.notice.textContent = "";
    this.follower = followThread(threadId, {
      onEvent: (event) => this.view.handle(event),
      onNotice: (text) => (this.notice.textContent = text || ""),
      onEnd: ({ ended }) => {
        this.follower = null;
        if (ended) this.finished();
        else this.poll(threadId).catch(this.onError);
      },
    });
  }

  finished() {
    this.cancelButton.disabled = true;
  }

  // Without a live connection: poll the status, then show the stored detail.
  async poll(threadId) {
    this.notice.textContent = "live updates unavailable: checking the status every second";
    for (;;) {
      const status = await api(`/api/orchestrate/status/${encodeURIComponent(threadId)}`);
      this.view.setStatus(status.status);
      if (!ACTIVE.has(status.status) && !status.live) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      if (this.view.threadId !== threadId) return;
    }
    this.view.loadDetail(await api(`/api/threads/${encodeURIComponent(threadId)}`));
    this.notice.textContent = "";
    this.finished();
  }

  async cancel() {
    const threadId = this.view.threadId;
    if (!threadId) return;
    await api(`/api/orchestrate/${encodeURIComponent(threadId)}/cancel`, { method: "POST" });
    this.notice.textContent = "cancelling…";
  }
}
