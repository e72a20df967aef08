// Renderers for the pieces of a run: analysis, selection, judges' verdicts, improvement.

import { fmtMs, fmtScore, fmtUsd, h } from "./dom.js";

const TEST_TOOL = /\[fake provider|test tool|recorded replay/i;

export function looksLikeTestTool(text) {
  return TEST_TOOL.test(String(text || ""));
}

export function renderAnalysis(analysis) {
  const features = Object.entries(analysis.features || {})
    .filter(([, value]) => value)
    .sort((a, b) => b[1] - a[1]);
  const domains = Object.entries(analysis.domain_scores || {}).sort((a, b) => b[1] - a[1]);
  return h(
    "div",
    { class: "card analysis" },
    h(
      "p",
      {},
      "Domain ",
      h("strong", { class: "domain" }, analysis.domain),
      ", complexity ",
      h("strong", { class: "complexity" }, Number(analysis.complexity).toFixed(2)),
      typeof analysis.elapsed_ms === "number" ? ` (analysed in ${analysis.elapsed_ms.toFixed(1)} ms)` : "",
    ),
    domains.length
      ? h("p", { class: "muted" }, "Domain scores: ", domains.map(([d, s]) => `${d} ${s.toFixed(2)}`).join(", "))
      : null,
    features.length
      ? h(
          "ul",
          { class: "chips features" },
          features.map(([name, value]) => h("li", {}, `${name}: ${Number(value).toFixed(2)}`)),
        )
      : null,
  );
}

export function renderSelection(decision, round) {
  const rows = [...(decision.candidates || [])].sort((a, b) => (b.score ?? -1e9) - (a.score ?? -1e9));
  const table = h(
    "table",
    { class: "candidates" },
    h(
      "thead",
      {},
      h("tr", {}, ["model", "quality", "± unc.", "cost", "latency", "health", "score", "note"].map((t) => h("th", {}, t))),
    ),
    h(
      "tbody",
      {},
      rows.map((c) =>
        h(
          "tr",
          { class: c.model === decision.model ? "chosen" : c.excluded ? "excluded" : "" },
          h("td", {}, c.model),
          h("td", {}, Number(c.expected_quality).toFixed(2)),
          h("td", {}, Number(c.quality_uncertainty).toFixed(2)),
          h("td", {}, fmtUsd(c.expected_cost_usd)),
          h("td", {}, fmtMs(c.expected_latency_ms)),
          h("td", {}, Number(c.health).toFixed(2)),
          h("td", {}, Number(c.score).toFixed(3)),
          h("td", {}, c.excluded || (c.model === decision.model ? "selected" : "")),
        ),
      ),
    ),
  );
  return h(
    "div",
    { class: "card selection" },
    h(
      "p",
      {},
      `Round ${round ?? 1}: selected `,
      h("strong", { class: "selected-model" }, decision.model),
      decision.strategy ? ` (${decision.strategy})` : "",
    ),
    h("ul", { class: "reasons" }, (decision.reasons || []).map((r) => h("li", {}, r))),
    rows.length ? table : null,
  );
}

// Live events carry {judge, score: {overall, ...}}; stored details carry the scores flat.
export function normaliseVerdict(v) {
  const s = v.score && typeof v.score === "object" ? v.score : v;
  return {
    judge: v.judge,
    weight: v.weight ?? 1,
    error: v.error ?? null,
    overall: s.overall ?? null,
    accuracy: s.accuracy ?? null,
    completeness: s.completeness ?? null,
    clarity: s.clarity ?? null,
    relevance: s.relevance ?? null,
    critique: s.critique ?? null,
    suggestions: s.suggestions || [],
  };
}

export function renderVerdicts(verdicts, score) {
  return h(
    "div",
    { class: "evaluation" },
    h("p", {}, "Judges' aggregate: ", h("strong", { class: "aggregate-score" }, fmtScore(score))),
    h(
      "table",
      { class: "verdicts" },
      h(
        "thead",
        {},
        h("tr", {}, ["judge", "overall", "accuracy", "complete", "clarity", "relevance", "weight"].map((t) => h("th", {}, t))),
      ),
      h(
        "tbody",
        {},
        verdicts.map((v) =>
          h(
            "tr",
            { class: v.error ? "failed" : "" },
            h("td", {}, v.judge),
            h("td", { class: "overall" }, fmtScore(v.overall)),
            h("td", {}, fmtScore(v.accuracy)),
            h("td", {}, fmtScore(v.completeness)),
            h("td", {}, fmtScore(v.clarity)),
            h("td", {}, fmtScore(v.relevance)),
            h("td", {}, Number(v.weight).toFixed(2)),
          ),
        ),
      ),
    ),
    verdicts.map((v) =>
      h(
        "details",
        { class: "critique" },
        h("summary", {}, `${v.judge}: ${v.error ? `failed (${v.error})` : "critique"}`),
        v.critique ? h("p", {}, v.critique) : null,
        v.suggestions.length ? h("ul", {}, v.suggestions.map((s) => h("li", {}, s))) : null,
      ),
    ),
  );
}

export function renderImprovement(event) {
  const verb = event.strategy === "escalate" ? "Escalating" : "Revising";
  return h(
    "div",
    { class: "card improvement" },
    h(
      "p",
      {},
      `${verb} for round ${event.round}: `,
      h("strong", {}, event.from_model),
      event.to_model !== event.from_model ? ["  → ", h("strong", {}, event.to_model)] : "",
      ` (previous score ${fmtScore(event.previous_score)})`,
    ),
    event.reason ? h("p", { class: "muted" }, event.reason) : null,
  );
}
