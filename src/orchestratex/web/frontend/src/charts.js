// Chart.js with only the parts the dashboard uses; every chart is kept by its canvas id.

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Title,
  Tooltip,
} from "chart.js";

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Title,
  Tooltip,
);
Chart.defaults.animation = { duration: 150 };
Chart.defaults.maintainAspectRatio = false;

const PALETTE = ["#2563eb", "#db2777", "#16a34a", "#ea580c", "#7c3aed", "#0891b2", "#ca8a04", "#64748b"];
const charts = new Map();
const colours = new Map();

export function colourFor(name) {
  if (!colours.has(name)) colours.set(name, PALETTE[colours.size % PALETTE.length]);
  return colours.get(name);
}

export function drawChart(canvas, config) {
  charts.get(canvas.id)?.destroy();
  const chart = new Chart(canvas, config);
  charts.set(canvas.id, chart);
  return chart;
}

export function getChart(id) {
  return charts.get(id);
}

// How far the dataset's drawn points stay from the chart area's left and right edges (px), and
// their radius: a point on the frame's edge looks like no point at all.
function drawnPoints(chart, index) {
  const area = chart.chartArea;
  const points = chart.getDatasetMeta(index).data || [];
  if (!area || !points.length) return { inset: null, radius: 0 };
  const inset = Math.min(...points.map((p) => Math.min(p.x - area.left, area.right - p.x)));
  return { inset: Math.round(inset), radius: points[0].options?.radius ?? 0 };
}

// What each live chart shows, for people debugging in the console and for the browser tests.
export function chartSummary() {
  const out = {};
  for (const [id, chart] of charts) {
    if (!chart.canvas || !chart.canvas.isConnected) continue;
    out[id] = {
      type: chart.config.type,
      labels: chart.data.labels.length,
      datasets: chart.data.datasets.map((d, i) => ({
        label: d.label,
        points: d.data.filter((v) => v !== null && v !== undefined).length,
        ...drawnPoints(chart, i),
      })),
    };
  }
  return out;
}
