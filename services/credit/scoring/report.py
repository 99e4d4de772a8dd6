"""A model version's report: ROC curve, calibration curve and score distribution by outcome."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on a server

import matplotlib.pyplot as plt
import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_curve

from services.credit.scoring.scale import scores_from_pd

PNG_FILES = ("roc.png", "calibration.png", "scores.png")


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_report(out_dir: Path, model: Any, holdout: dict[str, Any]) -> Path:
    """Write the three PNG charts and one self-contained HTML page; return the page."""
    out_dir.mkdir(parents=True, exist_ok=True)
    y = np.asarray(holdout["y"], dtype=int)
    pd_ = np.asarray(holdout["pd"], dtype=float)
    metrics = model.metrics

    fpr, tpr, _ = roc_curve(y, pd_)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(fpr, tpr, label=f"AUC {metrics.get('auc')}")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"ROC, holdout of {len(y)}")
    ax.legend(loc="lower right")
    _save(fig, out_dir / "roc.png")

    observed, predicted = calibration_curve(y, pd_, n_bins=10, strategy="quantile")
    fig, ax = plt.subplots(figsize=(5, 4))
    top = float(max(observed.max(), predicted.max(), 0.01)) * 1.05
    ax.plot([0, top], [0, top], linestyle="--", color="grey")
    ax.plot(predicted, observed, marker="o")
    ax.set_xlabel("predicted PD (decile mean)")
    ax.set_ylabel("observed default rate")
    ax.set_title(f"Calibration, Brier {metrics.get('brier')}")
    _save(fig, out_dir / "calibration.png")

    scores = scores_from_pd(pd_)
    fig, ax = plt.subplots(figsize=(5, 4))
    bins = np.linspace(scores.min(), scores.max() + 1, 30).tolist()
    ax.hist(scores[y == 0], bins=bins, alpha=0.6, density=True, label="repaid")
    ax.hist(scores[y == 1], bins=bins, alpha=0.6, density=True, label="defaulted")
    ax.set_xlabel("score")
    ax.set_ylabel("density")
    ax.set_title(f"Scores by outcome, KS {metrics.get('ks')}")
    ax.legend()
    _save(fig, out_dir / "scores.png")

    images = "".join(
        f'<img alt="{name}" src="data:image/png;base64,'
        f'{base64.b64encode((out_dir / name).read_bytes()).decode()}">'
        for name in PNG_FILES
    )
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(metrics.get(k)))}</td></tr>"
        for k in ("auc", "ks", "brier", "default_rate", "mean_pd", "n", "n_train")
    )
    window = html.escape(str(model.training_window))
    page = out_dir / "report.html"
    page.write_text(
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Model {html.escape(model.version)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}img{margin:0 1em 1em 0}"
        "td,th{text-align:left;padding:2px 12px}</style></head><body>"
        f"<h1>Model {html.escape(model.version)}</h1>"
        f"<p>kind {html.escape(model.kind)}, status {html.escape(model.status)}, "
        f"sha256 <code>{html.escape(model.sha256)}</code>, created {model.created_at}</p>"
        f"<p>training window: {window}</p>"
        f"<h2>Holdout metrics</h2><table>{rows}</table>"
        f"<h2>Charts</h2>{images}</body></html>",
        encoding="utf-8",
    )
    return page
