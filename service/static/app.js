/* The lcvade page: score one light curve (with plots) or a table of many (sortable results).
 * Everything goes through the public API (/v1/...), so the page shows exactly what the API
 * answers, including its error messages. */
"use strict";

const $ = (id) => document.getElementById(id);
const state = { batch: [], classes: [], sortKey: "ias", sortAscending: true };

function requestHeaders(json) {
  const headers = {};
  if (json) headers["Content-Type"] = "application/json";
  const key = $("api-key").value.trim();
  if (key) headers["X-API-Key"] = key;
  return headers;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { ...requestHeaders(false), ...(options.headers || {}) } });
  let body = null;
  try {
    body = await response.json();
  } catch (ignored) {
    body = null;
  }
  if (!response.ok) {
    const message = body && body.error ? body.error.message : `${response.status} ${response.statusText}`;
    throw new Error(message);
  }
  return body;
}

function postJson(path, data) {
  return api(path, { method: "POST", headers: requestHeaders(true), body: JSON.stringify(data) });
}

async function parseUpload(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  return api("/v1/parse", { method: "POST", body: form });
}

function showError(box, error) {
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

function fmt(value, digits) {
  return value === null || value === undefined ? "n/a" : Number(value).toFixed(digits);
}

function pval(value) {
  return value === null || value === undefined ? "n/a" : Number(value).toPrecision(3);
}

function foldPhase(time, period) {
  const cycles = time / period;
  return cycles - Math.floor(cycles);
}

/* ---------------------------------------------------------------- one curve ---------- */

async function curveFromInputs() {
  const file = $("curve-file").files[0];
  const text = $("curve-text").value.trim();
  let upload = file;
  if (!upload && text) {
    const isJson = text.startsWith("{") || text.startsWith("[");
    upload = new File([text], isJson ? "pasted.json" : "pasted.csv", { type: "text/plain" });
  }
  if (!upload) throw new Error("Choose a file or paste a light curve first.");
  const parsed = await parseUpload(upload);
  if (parsed.light_curves.length === 0) {
    const first = parsed.rejected[0];
    throw new Error(first ? `${first.id}: ${first.reason}` : "The file holds no light curve.");
  }
  return parsed.light_curves[0];
}

function renderSingle(curve, scored, rec) {
  const result = scored.results[0];
  const verdict = $("verdict");
  verdict.className = "verdict";
  if (result.is_anomaly === true) {
    verdict.textContent = "Anomalous";
    verdict.classList.add("anomalous");
  } else if (result.is_anomaly === false) {
    verdict.textContent = "Typical";
    verdict.classList.add("typical");
  } else {
    verdict.textContent = "No calibration";
  }
  $("rule").textContent = `rule: ${scored.anomaly_rule}`;
  $("ias").textContent = fmt(result.ias, 3);
  $("ias").dataset.value = String(result.ias);
  $("percentile").textContent = result.percentile === null ? "n/a" : `${fmt(result.percentile, 1)}%`;
  $("p-value").textContent = pval(result.p_value);
  $("p-value").dataset.value = String(result.p_value);
  $("predicted-class").textContent = result.predicted_class;
  $("class-probability").textContent = fmt(result.class_probabilities[result.predicted_class], 3);
  $("period").textContent = `${fmt(result.period, 5)} d`;
  $("period").dataset.value = String(result.period);
  $("period-source").textContent = result.period_source === "given"
    ? "given"
    : `estimated (confidence ${fmt(result.period_confidence, 3)})`;
  $("period-source").dataset.value = result.period_source;

  const bands = curve.band ? [...new Set(curve.band)] : [null];
  const raw = bands.map((band, i) => {
    const keep = curve.time.map((_, j) => band === null || curve.band[j] === band);
    return {
      kind: "points",
      x: curve.time.filter((_, j) => keep[j]),
      y: curve.mag.filter((_, j) => keep[j]),
      err: curve.mag_err.filter((_, j) => keep[j]),
      color: LcPlot.PALETTE[i % LcPlot.PALETTE.length],
      label: band === null ? "" : `band ${band}`,
    };
  });
  LcPlot.plot($("raw-plot"), { xLabel: "time (d)", yLabel: "magnitude", invertY: true, series: raw });

  const folded = [];
  rec.bands.forEach((band, i) => {
    const color = LcPlot.PALETTE[i % LcPlot.PALETTE.length];
    const keep = rec.observed.band.map((b) => b === band.band);
    folded.push({
      kind: "band", x: rec.phases, color,
      lo: band.mean.map((m, k) => m - band.std[k]), hi: band.mean.map((m, k) => m + band.std[k]),
      label: "GP \u00b11\u03c3",
    });
    folded.push({
      kind: "points", color, label: rec.bands.length > 1 ? `observed ${band.band}` : "observed",
      x: rec.observed.phase.filter((_, j) => keep[j]),
      y: rec.observed.mag.filter((_, j) => keep[j]),
      err: rec.observed.mag_err.filter((_, j) => keep[j]),
    });
    folded.push({ kind: "line", x: rec.phases, y: band.mean, color: "#1d2430", label: "GP mean" });
    folded.push({
      kind: "points", marker: "diamond", size: 2.5, color: "#c2571a", label: "induction points",
      x: rec.induction_phases, y: band.induction_mean, err: band.induction_std,
    });
  });
  LcPlot.plot($("folded-plot"), {
    xLabel: "phase", yLabel: "magnitude", invertY: true, xDomain: [0, 1], series: folded,
  });
  const used = rec.observed.phase.length;
  $("folded-caption").textContent =
    `Folded with period ${fmt(result.period, 5)} d (${result.period_source}), maximum light at ` +
    `the model's anchor phase: the ${used} points the model reads` +
    (used < curve.time.length ? ` (of ${curve.time.length})` : "") +
    ", the decoder's induction points, and the GP mean with its 1\u03c3 band.";

  const classes = Object.keys(result.class_probabilities);
  LcPlot.bars($("class-plot"), classes, classes.map((c) => result.class_probabilities[c]));
  renderExplanation(result);
  $("result").dataset.curveId = result.id || "";
  $("result").hidden = false;
  $("result").dataset.state = "done";
}

async function scoreSingle(getCurve) {
  $("error").hidden = true;
  $("result").hidden = true;
  $("result").dataset.state = "busy";
  $("busy").hidden = false;
  try {
    const got = await getCurve();
    const curve = got.light_curve || got;
    const bandMap = got.band_map || null;
    const body = { light_curves: [curve] };
    if (bandMap) body.band_map = bandMap;
    const scored = await postJson("/v1/score", body);
    const period = scored.results[0].period;
    const recBody = { light_curve: { ...curve, period } };
    if (bandMap) recBody.band_map = bandMap;
    const rec = await postJson("/v1/reconstruct", recBody);
    renderSingle(curve, scored, rec);
    $("example-label").textContent = got.label
      ? `catalogue class: ${got.label} (${got.survey}); expected: ${got.expected}` +
        (got.expected_class ? ` (the default model's class ${got.expected_class})` : "")
      : "";
  } catch (error) {
    $("result").dataset.state = "error";
    showError($("error"), error);
  } finally {
    $("busy").hidden = true;
  }
}

async function loadExample() {
  const name = $("example-select").value;
  return api(`/v1/examples/${encodeURIComponent(name)}`);
}

function appendCells(tr, cells) {
  for (const [text, numeric] of cells) {
    const td = document.createElement("td");
    td.textContent = text;
    if (numeric) td.className = "num";
    tr.appendChild(td);
  }
}

function renderExplanation(result) {
  const read = result.bands_read || {};
  $("bands-read").textContent = Object.entries(read)
    .map(([name, model]) => (name === model ? name : `${name} as ${model}`))
    .join(", ") || "n/a";
  const e = result.explanation;
  $("explanation").hidden = !e;
  if (!e) return;
  $("explanation-summary").textContent = e.summary;
  const body = $("explanation-terms").querySelector("tbody");
  body.textContent = "";
  for (const [term, value] of Object.entries(e.terms)) {
    const tr = document.createElement("tr");
    if (term === e.dominant_term) tr.classList.add("anomalous");
    const cells = [
      [term, false], [fmt(value, 3), true],
      [e.typical ? fmt(e.typical[term], 3) : "n/a", true],
      [e.deviation ? fmt(e.deviation[term], 2) : "n/a", true],
    ];
    appendCells(tr, cells);
    body.appendChild(tr);
  }
}

/* ---------------------------------------------------------------- many curves -------- */

function sortedRows() {
  const key = state.sortKey;
  const sign = state.sortAscending ? 1 : -1;
  return [...state.batch].sort((a, b) => {
    const x = a.result[key];
    const y = b.result[key];
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * sign;
  });
}

function renderTable() {
  const body = $("batch-table").querySelector("tbody");
  body.textContent = "";
  for (const row of sortedRows()) {
    const r = row.result;
    const tr = document.createElement("tr");
    tr.dataset.id = r.id || "";
    if (r.is_anomaly) tr.classList.add("anomalous");
    const thumb = document.createElement("td");
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 120 36");
    svg.setAttribute("width", "120");
    svg.setAttribute("height", "36");
    thumb.appendChild(svg);
    tr.appendChild(thumb);
    const cells = [
      [r.id, false], [fmt(r.ias, 3), true], [fmt(r.percentile, 1), true], [pval(r.p_value), true],
      [r.is_anomaly === null ? "n/a" : r.is_anomaly ? "yes" : "no", false],
      [r.predicted_class, false], [fmt(r.period, 5), true],
    ];
    appendCells(tr, cells);
    body.appendChild(tr);
    const phase = row.curve.time.map((t) => foldPhase(t, r.period));
    LcPlot.thumbnail(svg, phase, row.curve.mag);
  }
  for (const th of $("batch-table").querySelectorAll("th.sortable")) {
    th.classList.remove("sorted-asc", "sorted-desc");
    if (th.dataset.key === state.sortKey) {
      th.classList.add(state.sortAscending ? "sorted-asc" : "sorted-desc");
    }
  }
}

function csvCell(value) {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function resultsCsv() {
  const columns = ["id", "ias", "anomaly_score", "percentile", "p_value", "is_anomaly",
    "predicted_class", "period", "period_source", "period_method", "period_confidence"];
  const header = columns.concat(state.classes.map((c) => `probability_${c}`));
  const lines = [header.map(csvCell).join(",")];
  for (const row of sortedRows()) {
    const r = row.result;
    const values = columns.map((c) => r[c]).concat(state.classes.map((c) => r.class_probabilities[c]));
    lines.push(values.map(csvCell).join(","));
  }
  return lines.join("\n") + "\n";
}

function downloadCsv() {
  const blob = new Blob([resultsCsv()], { type: "text/csv" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = "lcvade_scores.csv";
  document.body.appendChild(link);
  link.click();
  link.remove();
}

async function scoreBatch() {
  $("batch-error").hidden = true;
  $("batch-result").hidden = true;
  $("batch-busy").hidden = false;
  try {
    const file = $("batch-file").files[0];
    if (!file) throw new Error("Choose a table file first.");
    const parsed = await parseUpload(file);
    if (parsed.light_curves.length === 0) {
      const first = parsed.rejected[0];
      throw new Error(first ? `${first.id}: ${first.reason}` : "The file holds no light curve.");
    }
    const body = { light_curves: parsed.light_curves };
    const fdr = $("batch-fdr").value.trim();
    if (fdr) body.fdr = Number(fdr);
    const scored = await postJson("/v1/score", body);
    state.batch = scored.results.map((result, i) => ({ result, curve: parsed.light_curves[i] }));
    state.classes = scored.results.length ? Object.keys(scored.results[0].class_probabilities) : [];
    state.sortKey = "ias";
    state.sortAscending = true;
    renderTable();
    const flagged = scored.results.filter((r) => r.is_anomaly).length;
    $("batch-summary").textContent =
      `${scored.results.length} curves scored, ${flagged} flagged anomalous (${scored.anomaly_rule}); ` +
      "most anomalous (lowest IAS) first.";
    const rejected = $("batch-rejected");
    rejected.textContent = parsed.rejected.length
      ? `Not scored: ${parsed.rejected.map((r) => `${r.id} (${r.reason})`).join("; ")}`
      : "";
    $("batch-result").hidden = false;
  } catch (error) {
    showError($("batch-error"), error);
  } finally {
    $("batch-busy").hidden = true;
  }
}

/* ---------------------------------------------------------------- start-up ----------- */

async function describeModel() {
  try {
    const listing = await api("/v1/models");
    const model = listing.models[0];
    $("model-line").textContent =
      `model ${model.name} ${model.version}: classes ${model.classes.join(", ")}; ` +
      `bands ${model.bands ? model.bands.join(", ") : "one"}; on ${model.device}`;
  } catch (error) {
    $("model-line").textContent = `model information unavailable: ${error.message}`;
  }
  try {
    const examples = await api("/v1/examples");
    const select = $("example-select");
    select.textContent = "";
    for (const example of examples.examples) {
      const option = document.createElement("option");
      option.value = example.name;
      option.textContent = example.description;
      select.appendChild(option);
    }
  } catch (error) {
    showError($("error"), error);
  }
}

function switchTab(button) {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.classList.toggle("active", tab === button);
    $(tab.dataset.view).hidden = tab !== button;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => switchTab(tab));
  }
  $("example-button").addEventListener("click", () => scoreSingle(loadExample));
  $("curve-button").addEventListener("click", () => scoreSingle(curveFromInputs));
  $("batch-button").addEventListener("click", scoreBatch);
  $("batch-download").addEventListener("click", downloadCsv);
  for (const th of $("batch-table").querySelectorAll("th.sortable")) {
    th.addEventListener("click", () => {
      state.sortAscending = state.sortKey === th.dataset.key ? !state.sortAscending : true;
      state.sortKey = th.dataset.key;
      renderTable();
    });
  }
  $("api-key").addEventListener("change", describeModel);
  describeModel();
});
