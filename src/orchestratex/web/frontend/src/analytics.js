// The "Analytics" page: spend, quality, selection accuracy, latency and usage charts.

import { api } from "./api.js";
import { colourFor, drawChart } from "./charts.js";
import { $, fmtMs, fmtUsd, h } from "./dom.js";

const MAX_BUCKETS = 14;
const STEP_MS = { hour: 3600e3, day: 86400e3, week: 7 * 86400e3 };

function bucketLabel(iso, period) {
  const date = new Date(iso);
  return period === "hour" ? date.toISOString().slice(0, 13).replace("T", " ") + ":00" : date.toISOString().slice(0, 10);
}

// The cost report gives totals per bucket; one filtered call per bucket splits them by model.
async function costByModelOverTime(report, period) {
  const buckets = report.by_bucket.slice(-MAX_BUCKETS);
  const parts = await Promise.all(
    buckets.map((b) => {
      const until = new Date(new Date(b.start).getTime() + STEP_MS[period]).toISOString();
      return api("/api/analytics/costs", { params: { period, since: b.start, until } });
    }),
  );
  const models = [...new Set(parts.flatMap((p) => p.by_model.map((m) => m.model)))].sort();
  return {
    labels: buckets.map((b) => bucketLabel(b.start, period)),
    datasets: models.map((model) => ({
      label: model,
      data: parts.map((p) => p.by_model.find((m) => m.model === model)?.cost_usd ?? 0),
      backgroundColor: colourFor(model),
    })),
  };
}

function qualityByModelAndDomain(rows) {
  const scored = rows.filter((r) => r.mean_score !== null);
  const models = [...new Set(scored.map((r) => r.model))].sort();
  const domains = [...new Set(scored.map((r) => r.domain || "unknown"))].sort();
  return {
    labels: models,
    datasets: domains.map((domain) => ({
      label: domain,
      data: models.map((m) => scored.find((r) => r.model === m && (r.domain || "unknown") === domain)?.mean_score ?? null),
      backgroundColor: colourFor(`domain:${domain}`),
    })),
  };
}

function latencyByModel(rows) {
  const byModel = new Map();
  for (const r of rows) {
    if (r.mean_latency_ms === null) continue;
    const entry = byModel.get(r.model) || { total: 0, n: 0 };
    entry.total += r.mean_latency_ms * r.rounds;
    entry.n += r.rounds;
    byModel.set(r.model, entry);
  }
  const models = [...byModel.keys()].sort();
  return {
    labels: models,
    datasets: [
      {
        label: "mean answer latency (ms)",
        data: models.map((m) => byModel.get(m).total / Math.max(byModel.get(m).n, 1)),
        backgroundColor: models.map((m) => colourFor(m)),
      },
    ],
  };
}

function bar(canvasId, data, title, { stacked = false, yTitle = "", counts = false } = {}) {
  drawChart($(`#${canvasId}`), {
    type: "bar",
    data,
    options: {
      plugins: { title: { display: true, text: title } },
      scales: {
        x: { stacked },
        y: {
          stacked,
          beginAtZero: true,
          ticks: counts ? { precision: 0 } : {},
          title: { display: Boolean(yTitle), text: yTitle },
        },
      },
    },
  });
}

export class AnalyticsPage {
  constructor({ onError }) {
    this.onError = onError;
    this.period = $("#analytics-period");
    this.period.addEventListener("change", () => this.load().catch(onError));
    $("#analytics-refresh").addEventListener("click", () => this.load().catch(onError));
  }

  async load() {
    const period = this.period.value;
    const board = await api("/api/analytics/dashboard", { params: { period } });
    bar("chart-cost", await costByModelOverTime(board.costs, period), `Cost by model per ${period} (USD)`, {
      stacked: true,
      yTitle: "USD",
    });
    bar("chart-quality", qualityByModelAndDomain(board.models), "Mean judge score by model and domain", {
      yTitle: "score (0-10)",
    });
    const spread = board.selection.threshold_rounds;
    const keys = Object.keys(spread).sort((a, b) => (a === "never") - (b === "never") || Number(a) - Number(b));
    bar(
      "chart-selection",
      { labels: keys.map((k) => (k === "never" ? "never met" : `round ${k}`)), datasets: [{ label: "runs", data: keys.map((k) => spread[k]), backgroundColor: "#2563eb" }] },
      "Round at which the threshold was met",
      { counts: true },
    );
    bar("chart-latency", latencyByModel(board.models), "Answer latency by model", { yTitle: "ms" });
    const statuses = Object.keys(board.usage.threads_by_status).sort();
    bar(
      "chart-usage",
      { labels: statuses, datasets: [{ label: "threads", data: statuses.map((s) => board.usage.threads_by_status[s]), backgroundColor: statuses.map((s) => colourFor(`status:${s}`)) }] },
      "Threads by status",
      { counts: true },
    );
    this.renderFigures(board);
  }

  renderFigures(board) {
    const u = board.usage;
    const s = board.selection;
    const figure = (label, value) => h("div", { class: "figure" }, h("span", { class: "muted" }, label), h("strong", {}, value));
    $("#analytics-figures").replaceChildren(
      figure(
        "total cost",
        board.costs.estimated_cost_usd
          ? `${fmtUsd(board.costs.total_cost_usd)} (${fmtUsd(board.costs.estimated_cost_usd)} estimated)`
          : fmtUsd(board.costs.total_cost_usd),
      ),
      figure("threads", String(u.threads)),
      figure("model calls", `${u.calls} (${u.success_rate === null ? "–" : `${Math.round(u.success_rate * 100)}% ok`})`),
      figure("tokens", `${u.input_tokens} in / ${u.output_tokens} out`),
      figure("latency", `mean ${fmtMs(u.mean_latency_ms)}, median ${fmtMs(u.p50_latency_ms)}`),
      figure(
        "first choice kept",
        s.share_kept === null ? "–" : `${Math.round(s.share_kept * 100)}% of ${s.decisions}`,
      ),
    );
  }
}
