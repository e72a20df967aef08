// The per-round score chart of one run: aggregate, each judge, and the threshold.

import { colourFor, drawChart } from "./charts.js";

export class ScoreChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.chart = null;
  }

  update(rounds, threshold) {
    const ordered = [...rounds].filter((r) => r.evaluated).sort((a, b) => a.round - b.round);
    const labels = ordered.map((r) => `round ${r.round}`);
    const judges = [...new Set(ordered.flatMap((r) => r.verdicts.map((v) => v.judge)))];
    const datasets = [
      {
        label: "aggregate",
        data: ordered.map((r) => r.score),
        borderColor: "#111827",
        backgroundColor: "#111827",
        borderWidth: 3,
        pointRadius: 5,
        pointHoverRadius: 7,
      },
      ...judges.map((judge) => ({
        label: `judge ${judge}`,
        data: ordered.map((r) => r.verdicts.find((v) => v.judge === judge)?.overall ?? null),
        borderColor: colourFor(judge),
        backgroundColor: colourFor(judge),
        borderDash: [4, 3],
        pointRadius: 4,
      })),
    ];
    if (typeof threshold === "number") {
      datasets.push({
        label: "threshold",
        data: ordered.map(() => threshold),
        borderColor: "#dc2626",
        backgroundColor: "#dc2626",
        // With one round there is no line to draw: mark the threshold with a dash instead.
        pointStyle: "line",
        pointRadius: ordered.length === 1 ? 14 : 0,
        borderWidth: 1,
      });
    }
    if (!this.chart || !this.chart.canvas?.isConnected) {
      this.chart = drawChart(this.canvas, {
        type: "line",
        data: { labels, datasets },
        options: {
          // offset: points sit inside the frame (a single round in the middle, not on the edge);
          // clip off: a 10/10 point on the top line is drawn whole.
          layout: { padding: { top: 6, right: 6 } },
          datasets: { line: { clip: false } },
          scales: {
            x: { offset: true },
            y: { min: 0, max: 10, title: { display: true, text: "score (0-10)" } },
          },
          plugins: { title: { display: true, text: "Score per round" } },
        },
      });
    } else {
      this.chart.data.labels = labels;
      this.chart.data.datasets = datasets;
      this.chart.update();
    }
  }
}
