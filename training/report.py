"""The figures of thesis section 9.5.3 and a self-contained HTML page that holds them.

* IAS histograms of test inliers and outliers (Fig. 9.5);
* folded reconstructions, one row per class (Figs. 9.6-9.7): observed points with error bars
  (red), the induction points mu^ind with error bars sigma^ind (blue dots), the GP predictive
  mean (blue line) and its 1-sigma band (shaded);
* the test curves of lowest and highest IAS, drawn the same way (Fig. 9.8);
* ROC and precision-recall curves and the inlier confusion matrix.

Figures are rendered with matplotlib's Agg backend to PNG and embedded as base64 ``data:``
URIs, so the page needs no other file.
"""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lcvade.scorer import Reconstruction  # noqa: E402

OBSERVED_COLOR = "#c0392b"
MODEL_COLOR = "#1f5fa8"
# error-bar styles of the observed points and of the induction points
OBSERVED_DOTS: dict[str, Any] = {"fmt": "o", "ms": 2.5, "lw": 0.6, "color": OBSERVED_COLOR}
INDUCTION_DOTS: dict[str, Any] = {"fmt": "o", "ms": 3, "lw": 0.8, "color": MODEL_COLOR}


@dataclass
class ReportFigure:
    """One figure of the report: an anchor id, a caption and the PNG bytes."""

    key: str
    caption: str
    png: bytes


def to_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def ias_histograms(ias_inlier: np.ndarray, ias_outlier: np.ndarray, outlier: str) -> Figure:
    """Fig. 9.5: histograms of the IAS of test inliers and test outliers."""
    figure, axis = plt.subplots(figsize=(6, 3.5))
    values = np.concatenate([ias_inlier, ias_outlier])
    bins = np.linspace(np.min(values), np.max(values), 40) if values.size else 10
    axis.hist(ias_inlier, bins=bins, alpha=0.6, color=MODEL_COLOR, label="inliers")
    if ias_outlier.size:
        axis.hist(ias_outlier, bins=bins, alpha=0.6, color=OBSERVED_COLOR, label=outlier)
    axis.set_xlabel("IAS (eq. 9.12; low = anomalous)")
    axis.set_ylabel("test curves")
    axis.legend()
    return figure


def draw_reconstruction(axis, recon: Reconstruction, title: str) -> None:
    """One panel of Figs. 9.6-9.8 (magnitude axis inverted: brighter is up)."""
    for b, band in enumerate(recon.bands):
        shade = 1.0 if b == 0 else 0.55
        sel = recon.observed_band == b
        axis.errorbar(
            recon.observed_phase[sel],
            recon.observed_mag[sel],
            yerr=recon.observed_err[sel],
            alpha=shade,
            label="observed" if b == 0 else None,
            **OBSERVED_DOTS,
        )
        axis.fill_between(
            recon.phases,
            recon.mean[b] - recon.std[b],
            recon.mean[b] + recon.std[b],
            color=MODEL_COLOR,
            alpha=0.18 * shade,
            lw=0,
        )
        axis.plot(recon.phases, recon.mean[b], color=MODEL_COLOR, lw=1.2, alpha=shade)
        axis.errorbar(
            recon.induction_phases,
            recon.induction_mean[b],
            yerr=recon.induction_std[b],
            alpha=shade,
            label="induction points" if b == 0 else None,
            **INDUCTION_DOTS,
        )
        if len(recon.bands) > 1:
            axis.text(0.01, 0.02 + 0.08 * b, band, transform=axis.transAxes, fontsize=7)
    axis.invert_yaxis()
    axis.set_title(title, fontsize=8)
    axis.tick_params(labelsize=7)


def reconstruction_grid(panels: list[tuple[str, Reconstruction]], ncols: int = 4) -> Figure:
    """A grid of reconstruction panels (Figs. 9.6-9.8)."""
    nrows = max(1, int(np.ceil(len(panels) / ncols)))
    figure, axes = plt.subplots(
        nrows, ncols, figsize=(3.2 * ncols, 2.5 * nrows), squeeze=False, sharex=True
    )
    for axis in axes.flat:
        axis.set_visible(False)
    for axis, (title, recon) in zip(axes.flat, panels, strict=False):
        axis.set_visible(True)
        draw_reconstruction(axis, recon, title)
    for axis in axes[-1]:
        axis.set_xlabel("phase", fontsize=8)
    if panels:
        axes.flat[0].legend(fontsize=6, loc="upper right")
    figure.tight_layout()
    return figure


def roc_pr_curves(is_outlier: np.ndarray, anomaly_score: np.ndarray) -> Figure:
    """ROC and precision-recall curves of one detector (outlier = positive)."""
    order = np.argsort(-anomaly_score, kind="mergesort")
    y = np.asarray(is_outlier, bool)[order]
    tp, fp = np.cumsum(y), np.cumsum(~y)
    tpr, fpr = tp / max(y.sum(), 1), fp / max((~y).sum(), 1)
    precision = tp / np.arange(1, y.size + 1)
    figure, (left, right) = plt.subplots(1, 2, figsize=(8, 3.5))
    left.plot(np.r_[0, fpr], np.r_[0, tpr], color=MODEL_COLOR)
    left.plot([0, 1], [0, 1], ls=":", color="grey")
    left.set_xlabel("false-positive rate")
    left.set_ylabel("true-positive rate")
    left.set_title("ROC", fontsize=9)
    right.plot(tpr, precision, color=MODEL_COLOR)
    right.set_xlabel("recall")
    right.set_ylabel("precision")
    right.set_ylim(0, 1.02)
    right.set_title("precision-recall", fontsize=9)
    figure.tight_layout()
    return figure


def confusion_figure(matrix: np.ndarray, class_names: list[str]) -> Figure:
    """The inlier confusion matrix of q(y|z,f), rows = true class."""
    size = 1.0 + 0.45 * len(class_names)
    figure, axis = plt.subplots(figsize=(size + 1.5, size))
    axis.imshow(matrix, cmap="Blues")
    ticks = np.arange(len(class_names))
    axis.set_xticks(ticks, class_names, rotation=60, ha="right", fontsize=7)
    axis.set_yticks(ticks, class_names, fontsize=7)
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            axis.text(j, i, str(count), ha="center", va="center", fontsize=7)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    return figure


def render_html(title: str, metrics: dict[str, Any], figures: list[ReportFigure]) -> str:
    """The self-contained report page: a metrics table and every figure inline."""
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
        for k, v in metrics.items()
        if not isinstance(v, dict | list)
    )
    sections = "".join(
        f'<figure id="{html.escape(f.key)}"><img alt="{html.escape(f.caption)}" '
        f'src="data:image/png;base64,{base64.b64encode(f.png).decode("ascii")}">'
        f"<figcaption>{html.escape(f.caption)}</figcaption></figure>"
        for f in figures
    )
    details = html.escape(json.dumps(metrics, indent=1, default=str))
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse}th,td{padding:2px 10px;text-align:left;"
        "border-bottom:1px solid #ddd}figure{margin:1.5em 0}img{max-width:100%}"
        "figcaption{font-size:.9em;color:#555}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><table>{rows}</table>{sections}"
        f"<details><summary>all metrics (JSON)</summary><pre>{details}</pre></details>"
        "</body></html>\n"
    )


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "n/a" if value is None else str(value)
