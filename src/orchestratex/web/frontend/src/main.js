// Entry point: pages, the API key, the service's auth mode and the test-tool banner.

import { AnalyticsPage } from "./analytics.js";
import { api, getApiKey, setApiKey } from "./api.js";
import { modelLabel, modelProviders } from "./catalog.js";
import { chartSummary } from "./charts.js";
import { DemoPicker, explainError } from "./demo.js";
import { $, h } from "./dom.js";
import { HistoryPage } from "./history.js";
import { RunPage } from "./runpage.js";

const PAGES = ["run", "history", "analytics"];
const TEST_NAMES = /fake|test|replay|record/i;
const testSources = new Set();
let replayMode = false;

function showError(error) {
  const box = $("#error");
  box.replaceChildren(...explainError(error));
  box.classList.toggle("not-recorded", error?.code === "not_recorded");
  box.hidden = false;
}

function noteTestTool(name) {
  if (name) testSources.add(name);
  if (replayMode) return; // the offline demo's own banner already says what the answers are
  const banner = $("#test-banner");
  banner.replaceChildren(
    h("strong", {}, "Not live model output. "),
    "Answers on this page come from a test tool or recorded replays: ",
    h("code", {}, [...testSources].sort().join(", ")),
  );
  banner.hidden = false;
}

async function loadModels(runPage) {
  const health = await api("/api/orchestrate/models/health");
  runPage.fillModels(health.models);
  for (const m of health.models) {
    modelProviders.set(m.key, m.provider);
    if (TEST_NAMES.test(m.provider)) noteTestTool(modelLabel(m.key, m.provider));
  }
}

async function loadAuth() {
  const response = await fetch("/healthz");
  const health = await response.json();
  const mode = $("#auth-mode");
  const open = health.auth === "open";
  mode.textContent = open ? "open: no API key needed" : `auth ${health.auth}`;
  $("#api-key-box").classList.toggle("needed", !open && !getApiKey());
  replayMode = health.mode === "replay";
  if (replayMode) $("#test-banner").hidden = true;
  return health;
}

function main() {
  const clearError = () => ($("#error").hidden = true);
  const onError = (error) => showError(error);
  const runPage = new RunPage({ onTestTool: noteTestTool, onError });
  const history = new HistoryPage({
    onTestTool: noteTestTool,
    onError,
    onFollow: (threadId) => {
      window.location.hash = "#run";
      runPage.follow(threadId);
    },
  });
  const analytics = new AnalyticsPage({ onError });
  const demo = new DemoPicker({ onError });
  const start = () =>
    loadAuth()
      .then((health) => {
        demo.setMode(health.mode);
        return Promise.all([loadModels(runPage), demo.search()]);
      })
      .catch(onError);

  const show = () => {
    const page = PAGES.includes(window.location.hash.slice(1)) ? window.location.hash.slice(1) : "run";
    for (const name of PAGES) {
      $(`#page-${name}`).hidden = name !== page;
      $(`#nav-${name}`).classList.toggle("active", name === page);
    }
    clearError();
    if (page === "history") history.search($("#history-q").value).catch(onError);
    if (page === "analytics") analytics.load().catch(onError);
  };
  window.addEventListener("hashchange", show);

  const keyInput = $("#api-key");
  keyInput.value = getApiKey();
  $("#api-key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    setApiKey(keyInput.value.trim());
    show();
    start();
  });

  show();
  start();
}

// For people in the browser console and for the browser tests.
window.OrchestrateX = { charts: chartSummary };
main();
