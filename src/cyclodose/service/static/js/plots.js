/* Draws the plots described by the server in each .plot element's data-plot attribute
   (numbers taken from the typed result; nothing is computed here). */
(function () {
  "use strict";
  var AXIS = { gridcolor: "#d7dce1", zerolinecolor: "#9aa3ad", color: "#1b1f24" };

  function concentration(spec) {
    var traces = [];
    var shapes = [];
    (spec.bands || []).forEach(function (b) {
      traces.push({ x: b.x, y: b.low, mode: "lines", line: { width: 0 }, hoverinfo: "skip",
                    showlegend: false, name: b.name + " (low)" });
      traces.push({ x: b.x, y: b.high, mode: "lines", line: { width: 0 }, fill: "tonexty",
                    fillcolor: "rgba(11,92,173,0.18)", name: b.name,
                    hovertemplate: "%{y:.1f} mg/L<extra>" + b.name + " upper</extra>" });
    });
    (spec.curves || []).forEach(function (c) {
      traces.push({ x: c.x, y: c.y, mode: "lines", name: c.name,
                    line: { color: c.color || "#0b5cad", width: 2.5, dash: c.dash || "solid" },
                    hovertemplate: "%{x:.1f} h: %{y:.1f} mg/L<extra>" + c.name + "</extra>" });
    });
    (spec.points || []).forEach(function (p) {
      traces.push({ x: p.x, y: p.y, mode: "markers", name: p.name,
                    marker: { color: "#1b1f24", size: 10, symbol: p.symbols || "circle",
                              line: { color: "#1b1f24", width: 2 } },
                    text: p.labels, hovertemplate: "%{text}<extra>" + p.name + "</extra>" });
    });
    if (spec.window) {
      shapes.push({ type: "rect", xref: "paper", x0: 0, x1: 1, y0: spec.window[0], y1: spec.window[1],
                    fillcolor: "rgba(22,99,45,0.12)", line: { width: 0 }, layer: "below" });
      traces.push({ x: [null], y: [null], mode: "markers", name: "target window " + spec.window[0] + "–" + spec.window[1] + " mg/L",
                    marker: { symbol: "square", size: 14, color: "rgba(22,99,45,0.35)" } });
    }
    if (spec.ceiling != null) {
      shapes.push({ type: "line", xref: "paper", x0: 0, x1: 1, y0: spec.ceiling, y1: spec.ceiling,
                    line: { color: "#9b0a0a", width: 2, dash: "dash" } });
      traces.push({ x: [null], y: [null], mode: "lines", name: "ceiling " + spec.ceiling + " mg/L",
                    line: { color: "#9b0a0a", width: 2, dash: "dash" } });
    }
    (spec.doses_h || []).forEach(function (t) {
      shapes.push({ type: "line", yref: "paper", x0: t, x1: t, y0: 0, y1: 0.06,
                    line: { color: "#4a5360", width: 1.5 } });
    });
    if ((spec.doses_h || []).length) {
      traces.push({ x: [null], y: [null], mode: "lines", name: "doses (ticks at the bottom)",
                    line: { color: "#4a5360", width: 1.5 } });
    }
    // y from 0 to a little above the highest of the data and the ceiling, so the ceiling line
    // never sits on the frame
    var top = spec.ceiling || 0;
    traces.forEach(function (t) { (t.y || []).forEach(function (v) { if (v != null && v > top) top = v; }); });
    return { traces: traces, layout: { shapes: shapes,
      xaxis: Object.assign({ title: { text: spec.x_title } }, AXIS),
      yaxis: Object.assign({ title: { text: spec.y_title }, range: [0, top * 1.08] }, AXIS) } };
  }

  function lines(spec) {
    var traces = spec.series.map(function (s) {
      return { x: s.x, y: s.y, mode: "lines+markers", name: s.name,
               hovertemplate: "%{x}: %{y:.2f}<extra>" + s.name + "</extra>" };
    });
    return { traces: traces, layout: {
      // on a log axis, ticks at the values given (the MICs) rather than 2, 3, … 9 between decades
      xaxis: Object.assign({ title: { text: spec.x_title }, type: spec.x_log ? "log" : "linear",
                             tickvals: spec.x_log && spec.series.length ? spec.series[0].x : undefined }, AXIS),
      yaxis: Object.assign({ title: { text: spec.y_title }, range: spec.y_range }, AXIS) } };
  }

  // On a narrow screen the legend goes below the plot, which gets taller.
  function fit(el) {
    var narrow = el.clientWidth < 560;
    return { legend: narrow ? { orientation: "h", x: 0, y: -0.22, yanchor: "top" } : { orientation: "v" },
             width: el.clientWidth, height: narrow ? 520 : 400,
             margin: { l: narrow ? 48 : 60, r: 10, t: 10, b: 50 } };
  }

  function bars(spec) {
    var traces = spec.series.map(function (s) {
      return { x: s.x, y: s.y, type: "bar", name: s.name, marker: { color: "#0b5cad" },
               error_y: { type: "data", symmetric: false, color: "#1b1f24",
                          array: s.high.map(function (h, i) { return h - s.y[i]; }),
                          arrayminus: s.low.map(function (l, i) { return s.y[i] - l; }) },
               hovertemplate: "%{x}: %{y:.1f} mg/L<extra></extra>" };
    });
    var shapes = [];
    if (spec.ceiling != null) {
      shapes.push({ type: "line", xref: "paper", x0: 0, x1: 1, y0: spec.ceiling, y1: spec.ceiling,
                    line: { color: "#9b0a0a", width: 2, dash: "dash" } });
      traces.push({ x: [null], y: [null], mode: "lines", name: "ceiling " + spec.ceiling + " mg/L",
                    line: { color: "#9b0a0a", width: 2, dash: "dash" } });
    }
    return { traces: traces, layout: { shapes: shapes,
      xaxis: Object.assign({ title: { text: spec.x_title } }, AXIS),
      yaxis: Object.assign({ title: { text: spec.y_title }, rangemode: "tozero" }, AXIS) } };
  }

  function draw(el) {
    if (el.dataset.drawn || typeof Plotly === "undefined") return;
    var spec = JSON.parse(el.dataset.plot);
    var fig = spec.kind === "lines" ? lines(spec) : spec.kind === "bars" ? bars(spec) : concentration(spec);
    var layout = Object.assign({
      font: { family: "system-ui, sans-serif", size: 13, color: "#1b1f24" },
      paper_bgcolor: "#ffffff", plot_bgcolor: "#ffffff"
    }, fit(el), fig.layout);
    // sized from its box here and again on every resize (below)
    Plotly.newPlot(el, fig.traces, layout, { displaylogo: false, displayModeBar: false });
    el.dataset.drawn = "1";
  }

  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      document.querySelectorAll(".plot[data-drawn]").forEach(function (el) { Plotly.relayout(el, fit(el)); });
    }, 100);
  });

  function drawAll(root) { (root || document).querySelectorAll(".plot[data-plot]").forEach(draw); }
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function () { drawAll(document); });
})();
