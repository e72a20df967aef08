// One run rendered as a timeline: fed live events (WebSocket) or a stored thread's detail.

import {
  looksLikeTestTool,
  normaliseVerdict,
  renderAnalysis,
  renderImprovement,
  renderSelection,
  renderVerdicts,
} from "./cards.js";
import { renderRoundDiff } from "./diffview.js";
import { modelLabel } from "./catalog.js";
import { clear, fmtScore, fmtTime, fmtUsd, h } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { ScoreChart } from "./scorechart.js";

const TERMINAL = new Set(["completed", "failed", "cancelled"]);

export class RunView {
  constructor(container, { idPrefix, onTestTool } = {}) {
    this.onTestTool = onTestTool || (() => {});
    this.root = h("section", { class: "run", hidden: true });
    this.summary = h("div", { class: "run-summary" });
    this.prompt = h("div", { class: "run-prompt" });
    this.timeline = h("ol", { class: "timeline" });
    const canvas = h("canvas", { id: `${idPrefix}-score-chart`, class: "score-chart" });
    this.final = h("section", { class: "final" });
    this.diffs = h("section", { class: "diffs" });
    this.root.append(
      this.summary,
      this.prompt,
      h(
        "div",
        { class: "run-grid" },
        this.timeline,
        h("aside", {}, h("div", { class: "chart-box" }, canvas)),
      ),
      this.final,
      this.diffs,
    );
    container.append(this.root);
    this.chart = new ScoreChart(canvas);
  }

  reset(threadId) {
    this.threadId = threadId;
    this.status = "queued";
    this.rounds = new Map();
    this.providers = new Map();
    this.threshold = null;
    this.cost = 0;
    this.tokensIn = 0;
    this.tokensOut = 0;
    this.calls = 0;
    this.model = null;
    this.lastSeq = 0;
    [this.prompt, this.timeline, this.final, this.diffs].forEach(clear);
    this.root.hidden = false;
    this.chart.update([], null);
    this.renderSummary();
  }

  setStatus(status) {
    this.status = status;
    this.renderSummary();
  }

  entry(kind, title, ...body) {
    const item = h("li", { class: `entry entry-${kind}`, dataset: { kind } }, h("h4", {}, title), ...body);
    this.timeline.append(item);
    return item;
  }

  round(n, model) {
    let round = this.rounds.get(n);
    if (!round) {
      const answer = h("pre", { class: "answer streaming" });
      const head = h("h4", {}, `Round ${n} · ${model}`);
      const meta = h("p", { class: "muted meta" });
      const evaluation = h("div", { class: "round-evaluation" });
      const item = h("li", { class: "entry entry-round", dataset: { kind: "round", round: n } }, head, answer, meta, evaluation);
      this.timeline.append(item);
      round = { round: n, model, text: "", verdicts: [], score: null, evaluated: false, el: { item, head, answer, meta, evaluation } };
      this.rounds.set(n, round);
    }
    return round;
  }

  handle(event) {
    if (typeof event.seq === "number") {
      if (event.seq <= this.lastSeq) return;
      this.lastSeq = event.seq;
    }
    const handler = this[`on_${event.type}`];
    if (handler) handler.call(this, event);
    if (TERMINAL.has(event.type)) this.setStatus(event.type);
    else if (this.status === "queued") this.setStatus("running");
  }

  on_started(event) {
    const request = event.request || {};
    this.threshold = request.threshold ?? null;
    this.setPrompt(request.prompt);
    this.entry(
      "started",
      "Started",
      h("p", { class: "muted" }, `max ${request.max_rounds} rounds, threshold ${fmtScore(request.threshold)}`),
    );
  }

  setPrompt(prompt) {
    if (prompt) this.prompt.replaceChildren(h("h3", {}, "Prompt"), h("pre", { class: "prompt-text" }, prompt));
  }

  on_analysis(event) {
    this.entry("analysis", "Analysis", renderAnalysis(event.analysis));
  }

  on_selection(event) {
    this.model = event.decision.model;
    this.entry("selection", "Selection", renderSelection(event.decision, event.round));
    this.renderSummary();
  }

  on_response_chunk(event) {
    const round = this.round(event.round, event.model);
    round.el.answer.append(event.text);
    round.text += event.text;
    if (looksLikeTestTool(event.text)) this.markTestTool(round);
  }

  on_model_call(event) {
    this.calls += 1;
    this.cost += event.cost_usd || 0;
    this.tokensIn += event.usage?.input_tokens || 0;
    this.tokensOut += event.usage?.output_tokens || 0;
    this.providers.set(event.model, event.provider);
    if (!event.success) {
      this.entry("call-failed", `Call to ${event.model} failed (${event.purpose})`, h("p", {}, event.error || ""));
    }
    this.renderSummary();
  }

  on_response(event) {
    const round = this.round(event.round, event.model);
    round.model = event.model;
    round.kind = event.kind;
    round.text = event.text;
    const label = modelLabel(event.model, this.providers.get(event.model));
    round.el.head.textContent = `Round ${event.round} · ${label} · ${event.kind}`;
    round.el.answer.replaceWith((round.el.answer = renderMarkdown(event.text)));
    round.el.answer.classList.add("answer");
    const usage = event.usage || {};
    round.el.meta.textContent = `${usage.input_tokens ?? 0} in / ${usage.output_tokens ?? 0} out tokens · ${fmtUsd(event.cost_usd)} · ${Math.round(event.latency_ms || 0)} ms`;
    if (looksLikeTestTool(event.text)) this.markTestTool(round);
    this.renderDiffs();
  }

  markTestTool(round) {
    if (round.el.item.classList.contains("test-tool")) return;
    round.el.item.classList.add("test-tool");
    round.el.head.after(h("p", { class: "badge warn" }, "Test-tool output, not written by a model"));
    this.onTestTool(modelLabel(round.model, this.providers.get(round.model)));
  }

  on_evaluation(event) {
    const round = this.round(event.round, event.model);
    round.verdicts = (event.verdicts || []).map(normaliseVerdict);
    round.score = event.score ?? null;
    round.evaluated = true;
    round.el.evaluation.replaceChildren(renderVerdicts(round.verdicts, round.score));
    this.chart.update([...this.rounds.values()], this.threshold);
  }

  on_improvement(event) {
    this.entry("improvement", "Improvement", renderImprovement(event));
  }

  on_completed(event) {
    this.renderFinal(event.result, null);
  }

  on_failed(event) {
    this.renderFinal(event.result, event.error);
  }

  on_cancelled(event) {
    this.renderFinal(event.result, `cancelled (${event.reason})`);
  }

  renderFinal(result, problem) {
    if (result) {
      this.cost = result.total_cost_usd ?? this.cost;
      this.tokensIn = result.usage?.input_tokens ?? this.tokensIn;
      this.tokensOut = result.usage?.output_tokens ?? this.tokensOut;
    }
    const parts = [h("h3", {}, problem ? "Result" : "Final answer")];
    if (problem) parts.push(h("p", { class: "badge error" }, problem));
    if (result) {
      parts.push(
        h(
          "p",
          { class: "final-meta" },
          `best round ${result.best_round ?? "–"} · score `,
          h("strong", { class: "final-score" }, fmtScore(result.score)),
          ` · stopped: ${result.stop_reason}`,
        ),
      );
      if (result.answer) parts.push(h("div", { class: "final-answer" }, renderMarkdown(result.answer)));
    }
    this.final.replaceChildren(...parts);
    this.renderSummary();
    this.renderDiffs();
  }

  renderDiffs() {
    const rounds = [...this.rounds.values()].filter((r) => r.kind);
    if (rounds.length < 2) return;
    this.diffs.replaceChildren(h("h3", {}, "Changes between rounds"), renderRoundDiff(rounds));
  }

  renderSummary() {
    this.summary.replaceChildren(
      h("span", {}, "Thread ", h("code", { class: "thread-id" }, this.threadId || "–")),
      h("span", { class: `status status-${this.status}` }, this.status),
      h("span", {}, "model ", h("strong", {}, this.model || "–")),
      h("span", {}, `rounds ${this.rounds.size}`),
      h("span", { class: "running-cost" }, `cost ${fmtUsd(this.cost)}`),
      h("span", { class: "running-tokens" }, `tokens ${this.tokensIn} in / ${this.tokensOut} out`),
    );
  }

  // A stored thread (GET /api/threads/{id}) shown through the same renderers.
  loadDetail(detail) {
    const thread = detail.thread;
    this.reset(thread.id);
    this.setPrompt(detail.prompt);
    if (detail.request) this.on_started({ request: { ...detail.request, prompt: detail.prompt } });
    if (detail.analysis) this.on_analysis({ analysis: detail.analysis });
    const improvements = new Map((detail.improvements || []).map((e) => [e.round, e]));
    for (const r of [...detail.rounds].sort((a, b) => a.round - b.round)) {
      if (improvements.has(r.round)) this.on_improvement(improvements.get(r.round));
      for (const d of detail.decisions.filter((d) => d.round === r.round)) this.on_selection({ decision: d, round: d.round });
      this.on_response({
        round: r.round,
        model: r.model,
        kind: r.kind,
        text: r.text,
        usage: { input_tokens: r.input_tokens, output_tokens: r.output_tokens },
        // The answer's own cost, as a live `response` event carries (r.cost_usd adds judging).
        cost_usd: r.answer_cost_usd,
        latency_ms: r.latency_ms,
      });
      if (r.evaluations.length || r.score !== null) {
        this.on_evaluation({ round: r.round, model: r.model, verdicts: r.evaluations, score: r.score });
      }
    }
    const costs = detail.costs || [];
    this.cost = costs.reduce((sum, c) => sum + c.cost_usd, 0);
    this.tokensIn = costs.reduce((sum, c) => sum + c.input_tokens, 0);
    this.tokensOut = costs.reduce((sum, c) => sum + c.output_tokens, 0);
    const best = detail.rounds.find((r) => r.round === thread.best_round);
    const result = {
      best_round: thread.best_round,
      score: thread.final_score,
      stop_reason: thread.stop_reason || "–",
      answer: best ? best.text : null,
    };
    const problem = thread.status === "completed" ? null : `${thread.status}${thread.error ? `: ${thread.error}` : ""}`;
    this.renderFinal(result, problem);
    this.setStatus(thread.status);
    this.summary.append(h("span", { class: "muted" }, `created ${fmtTime(thread.created_at)}`));
  }
}
