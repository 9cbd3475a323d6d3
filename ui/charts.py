"""Plotly figures for the pages: probability bars, emotion timelines, confusion matrices,
per-class scores and training curves. Pure (no Streamlit), so tests can inspect the figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fer_core.labels import EMOTION_COLORS_RGB, EMOTIONS

PER_CLASS_SCORES = ("precision", "recall", "f1")
_SCORE_COLORS = {"precision": "#0072B2", "recall": "#E69F00", "f1": "#009E73"}  # Okabe-Ito
_RUN_COLORS = ("#0072B2", "#D55E00")  # train / validation, or model A / model B


def _styled(figure: go.Figure) -> go.Figure:
    """What every chart shares: Plotly's toolbar stands on the right edge, upright, so that on a
    phone it never covers a chart's title (it lies across the top by default)."""
    figure.update_layout(modebar=dict(orientation="v"))
    return figure


def emotion_css(emotion: str) -> str:
    r, g, b = EMOTION_COLORS_RGB.get(emotion, (128, 128, 128))
    return f"rgb({r},{g},{b})"


def probability_bars(probabilities: Sequence[float] | np.ndarray, *, height: int = 250) -> go.Figure:
    """All 7 probabilities of one face as horizontal bars in the emotions' colours."""
    values = [float(p) for p in probabilities]
    if len(values) != len(EMOTIONS):
        raise ValueError(f"expected {len(EMOTIONS)} probabilities, got {len(values)}")
    figure = go.Figure(go.Bar(
        x=values, y=list(EMOTIONS), orientation="h",
        marker_color=[emotion_css(e) for e in EMOTIONS],
        text=[f"{v:.0%}" for v in values], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.1%}<extra></extra>",
    ))
    figure.update_layout(height=height, margin=dict(l=0, r=30, t=10, b=0), showlegend=False)
    figure.update_xaxes(range=[0, 1], tickformat=".0%", showgrid=True)
    figure.update_yaxes(autorange="reversed")  # emotions top to bottom in label order
    return _styled(figure)


def timeline_figure(times: np.ndarray, probabilities: np.ndarray, *, title: str = "") -> go.Figure:
    """One line per emotion over time; NaN rows (face not in view) leave gaps."""
    figure = go.Figure()
    for i, emotion in enumerate(EMOTIONS):
        figure.add_trace(go.Scatter(
            x=times, y=probabilities[:, i], mode="lines", name=emotion,
            line=dict(color=emotion_css(emotion), width=2), connectgaps=False,
            hovertemplate=f"{emotion}: %{{y:.0%}} at %{{x:.1f}} s<extra></extra>",
        ))
    figure.update_layout(title=title or None, height=340, margin=dict(l=0, r=0, t=40 if title else 10, b=0),
                         legend=dict(orientation="h", y=-0.25), hovermode="x unified")
    figure.update_xaxes(title="time (s)")
    figure.update_yaxes(title="probability", range=[0, 1], tickformat=".0%")
    return _styled(figure)


def time_share_bars(shares: Mapping[str, float], *, title: str = "Share of time") -> go.Figure:
    """How long each emotion (and no face) was shown over a session, as shares (0-1) of it."""
    from fer_core.labels import NO_FACE

    names = [*EMOTIONS, NO_FACE]
    colors = [emotion_css(n) for n in EMOTIONS] + ["rgb(80,80,80)"]
    figure = go.Figure(go.Bar(x=[shares.get(n, 0.0) for n in names], y=names, orientation="h", marker_color=colors,
                              hovertemplate="%{y}: %{x:.0%} of the time<extra></extra>"))
    figure.update_layout(title=title or None, height=260, margin=dict(l=0, r=10, t=40 if title else 10, b=0))
    figure.update_xaxes(range=[0, 1], tickformat=".0%")
    figure.update_yaxes(autorange="reversed")
    return _styled(figure)


def confusion_heatmap(matrix: np.ndarray, labels: Sequence[str], *, normalised: bool, title: str = "") -> go.Figure:
    """Rows: true class, columns: predicted. `normalised` shows each row as shares of its
    class (recall on the diagonal); otherwise raw counts."""
    values = row_normalised(matrix) if normalised else np.asarray(matrix, dtype=np.float64)
    text = [[f"{v:.0%}" if normalised else f"{int(v)}" for v in row] for row in values]
    figure = go.Figure(go.Heatmap(
        z=values, x=list(labels), y=list(labels), text=text, texttemplate="%{text}",
        colorscale="Blues", zmin=0, zmax=1 if normalised else None, showscale=False,
        hovertemplate="true %{y}, predicted %{x}: %{text}<extra></extra>",
    ))
    figure.update_layout(title=title or None, height=420, margin=dict(l=0, r=0, t=40 if title else 10, b=0))
    figure.update_xaxes(title="predicted", side="bottom")
    figure.update_yaxes(title="true", autorange="reversed")
    return _styled(figure)


def row_normalised(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its sum; rows with no examples stay 0."""
    counts = np.asarray(matrix, dtype=np.float64)
    sums = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, sums, out=np.zeros_like(counts), where=sums > 0)


def per_class_bars(per_class: Mapping[str, Mapping[str, float]]) -> go.Figure:
    """Precision, recall and F1 per emotion, grouped."""
    emotions = [e for e in EMOTIONS if e in per_class]
    figure = go.Figure([
        go.Bar(name=score, x=emotions, y=[float(per_class[e].get(score, np.nan)) for e in emotions],
               marker_color=_SCORE_COLORS[score], hovertemplate=f"%{{x}} {score}: %{{y:.3f}}<extra></extra>")
        for score in PER_CLASS_SCORES
    ])
    figure.update_layout(barmode="group", height=340, margin=dict(l=0, r=0, t=10, b=0),
                         legend=dict(orientation="h", y=1.1))
    figure.update_yaxes(range=[0, 1])
    return _styled(figure)


def per_class_comparison(per_class: Mapping[str, Mapping[str, Mapping[str, float]]], score: str = "f1") -> go.Figure:
    """One score per emotion for several models ({model: per_class}), grouped by emotion."""
    figure = go.Figure([
        go.Bar(name=model, x=list(EMOTIONS), y=[float(classes.get(e, {}).get(score, np.nan)) for e in EMOTIONS],
               marker_color=_RUN_COLORS[i % len(_RUN_COLORS)],
               hovertemplate=f"{model}, %{{x}}: %{{y:.3f}}<extra></extra>")
        for i, (model, classes) in enumerate(per_class.items())
    ])
    figure.update_layout(barmode="group", height=340, margin=dict(l=0, r=0, t=10, b=0),
                         legend=dict(orientation="h", y=1.1))
    figure.update_yaxes(title=score, range=[0, 1])
    return _styled(figure)


def history_figure(history: Sequence[Mapping[str, float]]) -> go.Figure:
    """Accuracy and loss per epoch, training and validation, from history.csv rows."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("accuracy", "loss"))
    epochs = [row.get("epoch", i) + 1 for i, row in enumerate(history)]  # 1-based, as people count
    for col, metric in enumerate(("accuracy", "loss"), start=1):
        for (prefix, label), color in zip((("", "training"), ("val_", "validation")), _RUN_COLORS):
            values = [row.get(prefix + metric, np.nan) for row in history]
            if all(np.isnan(v) for v in values):
                continue
            figure.add_trace(go.Scatter(x=epochs, y=values, mode="lines+markers", name=label,
                                        line=dict(color=color), legendgroup=label, showlegend=col == 1),
                             row=1, col=col)
        figure.update_xaxes(title_text="epoch", row=1, col=col)
    figure.update_layout(height=340, margin=dict(l=0, r=0, t=30, b=0), legend=dict(orientation="h", y=-0.2))
    return _styled(figure)



def speed_accuracy_scatter(points: Sequence[Mapping[str, Any]], *, split: str = "PrivateTest",
                           default: str | None = None) -> go.Figure:
    """The zoo's trade-off: milliseconds per face (x) against accuracy (y), one dot a model, named
    in the legend rather than beside the dot (names of nearby models would overlap); the default
    is a star. `points` are dicts with model, ms_per_face and accuracy (and ferplus_accuracy:
    when every model has it, agreement with people is the y axis)."""
    with_people = bool(points) and all(p.get("ferplus_accuracy") is not None for p in points)
    key = "ferplus_accuracy" if with_people else "accuracy"
    figure = go.Figure()
    palette = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
    for i, point in enumerate(sorted(points, key=lambda p: -float(p[key]))):
        is_default = point["model"] == default
        figure.add_trace(go.Scatter(
            x=[float(point["ms_per_face"])], y=[float(point[key])], mode="markers",
            name=f"{point['model']} (default)" if is_default else str(point["model"]),
            marker=dict(size=18 if is_default else 11, symbol="star" if is_default else ("diamond" if i >= 8 else "circle"),
                        color=palette[i % len(palette)], line=dict(width=1, color="white")),
            hovertemplate=f"{point['model']}: %{{x:.2f}} ms per face, %{{y:.1%}}<extra></extra>",
        ))
    figure.update_layout(height=420, margin=dict(l=0, r=0, t=10, b=0), showlegend=True,
                         legend=dict(orientation="h", y=-0.2))
    figure.update_xaxes(title="ms per face (lower is faster)", rangemode="tozero")
    figure.update_yaxes(title="agrees with people" if with_people else f"{split} accuracy", tickformat=".0%")
    return _styled(figure)
