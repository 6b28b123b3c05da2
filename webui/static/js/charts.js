/* Charts: each <canvas data-chart='{...}'> (spec from webui/charts.py) drawn with the vendored Chart.js. */
(function () {
  "use strict";

  var COLORS = { red: "#c0392b", yellow: "#d4a106", green: "#2e8b57", blue: "#2f5f98", grey: "#7a8796" };

  function percent(value) { return value === null || value === undefined ? "—" : (value * 100).toFixed(2) + "%"; }

  function draw(canvas) {
    if (typeof window.Chart === "undefined" || canvas.getAttribute("data-ready") === "true") { return; }
    var spec = JSON.parse(canvas.getAttribute("data-chart"));
    var datasets = spec.series.map(function (s) {
      var color = COLORS[s.color] || COLORS.grey;
      return {
        label: s.label, data: s.data, backgroundColor: color, borderColor: color,
        spanGaps: false, tension: 0, pointRadius: 4
      };
    });
    var valueAxis = {
      stacked: !!spec.stacked, beginAtZero: true,
      ticks: spec.percent ? { callback: function (v) { return Math.round(v * 100) + "%"; } } : { precision: 0 }
    };
    var categoryAxis = { stacked: !!spec.stacked };
    var horizontal = !!spec.horizontal;
    new window.Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        indexAxis: horizontal ? "y" : "x",
        scales: horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
        plugins: {
          title: { display: !!spec.title, text: spec.title },
          tooltip: spec.percent ? { callbacks: { label: function (c) { return c.dataset.label + ": " + percent(c.raw); } } } : {}
        }
      }
    });
    canvas.setAttribute("data-ready", "true");
  }

  function drawAll() {
    var canvases = document.querySelectorAll("canvas[data-chart]");
    for (var i = 0; i < canvases.length; i += 1) { draw(canvases[i]); }
  }

  document.addEventListener("DOMContentLoaded", drawAll);
  // The board refreshes itself: new canvases come with each swap.
  document.addEventListener("htmx:afterSettle", drawAll);
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-print]") : null;
    if (button) { window.print(); }
  });
}());
