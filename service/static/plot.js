/* Small SVG plots for light curves: scatter with error bars, lines, shaded bands, bars.
 * No external library: every element is drawn here, so the page works offline. */
"use strict";

const LcPlot = (() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#1f5fa8", "#c2571a", "#2f8a4c", "#7a3fa0", "#a8323e", "#3a8fa3"];

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (parent) parent.appendChild(node);
    return node;
  }

  function clear(svg) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
  }

  function size(svg) {
    const box = svg.viewBox.baseVal;
    return { width: box.width, height: box.height };
  }

  /* Round tick positions (steps of 1, 2 or 5 times a power of ten). */
  function ticks(lo, hi, count) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / Math.max(count, 1);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || raw;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    }
    return out;
  }

  function formatTick(v, step) {
    const digits = Math.max(0, Math.min(6, -Math.floor(Math.log10(step || 1))));
    return v.toFixed(digits);
  }

  function extent(values) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of values) {
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    if (lo === Infinity) return [0, 1];
    if (lo === hi) return [lo - 0.5, hi + 0.5];
    const pad = (hi - lo) * 0.05;
    return [lo - pad, hi + pad];
  }

  /* The y range covers the values (and shaded bands), not the error bars: one point with a
   * huge error must not squash the curve; its bar is clipped at the frame. */
  function yValues(series) {
    const values = [];
    for (const s of series) {
      if (s.kind === "band") {
        values.push(...s.lo, ...s.hi);
      } else {
        values.push(...s.y);
      }
    }
    return values;
  }

  /* spec: {xLabel, yLabel, invertY, xDomain?, series: [{kind: points|line|band, ...}]} */
  function plot(svg, spec) {
    clear(svg);
    const { width, height } = size(svg);
    const margin = { left: 62, right: 12, top: 26, bottom: 40 };
    const innerW = width - margin.left - margin.right;
    const innerH = height - margin.top - margin.bottom;
    const xDomain = spec.xDomain || extent(spec.series.flatMap((s) => s.x));
    const yDomain = extent(yValues(spec.series));
    const sx = (x) => margin.left + ((x - xDomain[0]) / (xDomain[1] - xDomain[0])) * innerW;
    const syRaw = (y) => (y - yDomain[0]) / (yDomain[1] - yDomain[0]);
    const sy = (y) => margin.top + (spec.invertY ? syRaw(y) : 1 - syRaw(y)) * innerH;

    const axis = el("g", { class: "axis" }, svg);
    const xt = ticks(xDomain[0], xDomain[1], 6);
    const yt = ticks(yDomain[0], yDomain[1], 5);
    const xStep = xt.length > 1 ? xt[1] - xt[0] : 1;
    const yStep = yt.length > 1 ? yt[1] - yt[0] : 1;
    for (const v of xt) {
      el("line", { class: "grid", x1: sx(v), x2: sx(v), y1: margin.top, y2: margin.top + innerH }, axis);
      const label = el("text", { x: sx(v), y: margin.top + innerH + 16, "text-anchor": "middle" }, axis);
      label.textContent = formatTick(v, xStep);
    }
    for (const v of yt) {
      el("line", { class: "grid", x1: margin.left, x2: margin.left + innerW, y1: sy(v), y2: sy(v) }, axis);
      const label = el("text", { x: margin.left - 6, y: sy(v) + 4, "text-anchor": "end" }, axis);
      label.textContent = formatTick(v, yStep);
    }
    el("rect", {
      x: margin.left, y: margin.top, width: innerW, height: innerH, fill: "none", stroke: "#8a94a3",
    }, axis);
    const xl = el("text", { x: margin.left + innerW / 2, y: height - 6, "text-anchor": "middle" }, axis);
    xl.textContent = spec.xLabel || "";
    const yl = el("text", {
      x: 14, y: margin.top + innerH / 2, "text-anchor": "middle",
      transform: `rotate(-90 14 ${margin.top + innerH / 2})`,
    }, axis);
    yl.textContent = spec.yLabel || "";

    const clipId = `clip-${svg.id || Math.random().toString(36).slice(2)}`;
    const defs = el("defs", {}, svg);
    const clip = el("clipPath", { id: clipId }, defs);
    el("rect", { x: margin.left, y: margin.top, width: innerW, height: innerH }, clip);
    const layer = el("g", { "clip-path": `url(#${clipId})` }, svg);

    spec.series.forEach((s, index) => {
      const color = s.color || PALETTE[index % PALETTE.length];
      const group = el("g", { class: `series series-${s.kind}`, "data-label": s.label || "" }, layer);
      if (s.kind === "band") {
        const upper = s.x.map((x, i) => `${sx(x)},${sy(s.hi[i])}`);
        const lower = s.x.map((x, i) => `${sx(x)},${sy(s.lo[i])}`).reverse();
        el("polygon", { points: upper.concat(lower).join(" "), fill: color, "fill-opacity": 0.18 }, group);
      } else if (s.kind === "line") {
        const d = s.x.map((x, i) => `${i ? "L" : "M"}${sx(x).toFixed(2)},${sy(s.y[i]).toFixed(2)}`);
        el("path", { d: d.join(""), fill: "none", stroke: color, "stroke-width": s.width || 2 }, group);
      } else {
        const radius = s.size || 2.2;
        s.x.forEach((x, i) => {
          const cx = sx(x);
          const cy = sy(s.y[i]);
          if (s.err) {
            el("line", {
              x1: cx, x2: cx, y1: sy(s.y[i] - s.err[i]), y2: sy(s.y[i] + s.err[i]),
              stroke: color, "stroke-opacity": 0.45, "stroke-width": s.marker === "diamond" ? 1.6 : 1,
            }, group);
          }
          if (s.marker === "diamond") {
            const r = radius + 1.5;
            el("polygon", {
              points: `${cx},${cy - r} ${cx + r},${cy} ${cx},${cy + r} ${cx - r},${cy}`,
              fill: "#fff", stroke: color, "stroke-width": 1.6,
            }, group);
          } else {
            el("circle", { cx, cy, r: radius, fill: color, "fill-opacity": 0.8 }, group);
          }
        });
      }
    });

    const legend = el("g", { class: "legend" }, svg);
    let lx = margin.left;
    spec.series.forEach((s, index) => {
      if (!s.label) return;
      const color = s.color || PALETTE[index % PALETTE.length];
      el("rect", { x: lx, y: 8, width: 10, height: 10, fill: color, "fill-opacity": s.kind === "band" ? 0.3 : 1 }, legend);
      const text = el("text", { x: lx + 14, y: 17 }, legend);
      text.textContent = s.label;
      lx += 24 + 7 * s.label.length;
    });
  }

  /* Horizontal bars of probabilities in [0, 1]; the largest is highlighted. */
  function bars(svg, labels, values) {
    clear(svg);
    const { width, height } = size(svg);
    const margin = { left: 140, right: 60, top: 10, bottom: 10 };
    const innerW = width - margin.left - margin.right;
    const rowH = (height - margin.top - margin.bottom) / Math.max(labels.length, 1);
    const best = values.indexOf(Math.max(...values));
    labels.forEach((label, i) => {
      const y = margin.top + i * rowH;
      const group = el("g", { class: "bar", "data-class": label }, svg);
      const name = el("text", { x: margin.left - 8, y: y + rowH / 2 + 4, "text-anchor": "end" }, group);
      name.textContent = label;
      el("rect", { x: margin.left, y: y + rowH * 0.15, width: innerW, height: rowH * 0.7, fill: "#eef1f5" }, group);
      el("rect", {
        x: margin.left, y: y + rowH * 0.15, width: Math.max(0, values[i]) * innerW, height: rowH * 0.7,
        fill: i === best ? "#1f5fa8" : "#9fb6d3",
      }, group);
      const v = el("text", { x: margin.left + innerW + 6, y: y + rowH / 2 + 4 }, group);
      v.textContent = values[i].toFixed(3);
    });
  }

  /* A tiny folded curve (phase vs mag, brighter up) without axes. */
  function thumbnail(svg, phase, mag) {
    clear(svg);
    const { width, height } = size(svg);
    const [lo, hi] = extent(mag);
    const step = Math.max(1, Math.floor(phase.length / 300));
    for (let i = 0; i < phase.length; i += step) {
      const cx = 2 + phase[i] * (width - 4);
      const cy = 2 + ((mag[i] - lo) / (hi - lo)) * (height - 4);
      el("circle", { cx, cy, r: 1.1, fill: "#1f5fa8", "fill-opacity": 0.7 }, svg);
    }
  }

  return { plot, bars, thumbnail, PALETTE };
})();
