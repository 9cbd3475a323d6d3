"""Model comparison: every shipped model on the numbers its own evaluation wrote.

Everything comes from each model folder's metrics.json, history.csv and card.md (ui.comparison
reads them defensively); no number on this page is typed in."""

from __future__ import annotations

import streamlit as st

from fer_core.classifier import ModelNotFoundError
from fer_core.labels import EMOTIONS
from fer_core.model_zoo import default_model_name, default_rule, list_models, most_accurate
from ui.charts import confusion_heatmap, history_figure, per_class_bars, per_class_comparison, speed_accuracy_scatter
from ui.comparison import (
    PHOTO_COLUMNS,
    SUMMARY_COLUMNS,
    ModelEntry,
    as_dict,
    confusion_matrix,
    load_entries,
    per_class,
    photo_recall_rows,
    photo_rows,
    speed_accuracy_points,
    summary_rows,
    variant_rows,
)
from ui.settings import sidebar_settings

st.set_page_config(page_title="Model comparison · Facial expressions", page_icon="📊", layout="wide")
settings = sidebar_settings()
st.title("Model comparison")

try:
    entries = load_entries(list_models())
except (ModelNotFoundError, OSError, ValueError) as exc:
    st.error(f"The list of models could not be read: {exc}")
    st.stop()
by_name = {entry.name: entry for entry in entries}
evaluated = [entry for entry in entries if entry.evaluated]

first = as_dict(evaluated[0].metrics) if evaluated else {}
dataset = as_dict(first.get("dataset"))
st.caption(
    "Every number below was written by `python -m fer_core evaluate` into the model's metrics.json"
    + (f", on {dataset.get('images', '?')} {dataset.get('split', '')} images" if dataset else "")
    + ". *Agrees with people*: how often the model's answer is what most of ten people said for the "
      "same face (FER+ crowd votes; faces where most people could not name one of the 7 emotions are "
      "left out). *FER2013 labels*: how often it matches the single label FER2013 gives each face, one "
      "person's guess. Click a column header to sort. ECE: expected calibration error (lower means the shown "
      "probabilities can be taken more literally); ms per face: median time for one face, LiteRT on "
      "the evaluation machine.")

percent = st.column_config.NumberColumn(format="percent")
st.dataframe(
    summary_rows(entries), hide_index=True, column_order=list(SUMMARY_COLUMNS),
    column_config={
        **{key: st.column_config.Column(label) for key, label in SUMMARY_COLUMNS.items()},
        "ferplus_accuracy": st.column_config.NumberColumn(SUMMARY_COLUMNS["ferplus_accuracy"], format="percent"),
        "accuracy": st.column_config.NumberColumn(SUMMARY_COLUMNS["accuracy"], format="percent"),
        "top2_accuracy": st.column_config.NumberColumn(SUMMARY_COLUMNS["top2_accuracy"], format="percent"),
        "macro_f1": st.column_config.NumberColumn(SUMMARY_COLUMNS["macro_f1"], format="%.3f"),
        "ece": st.column_config.NumberColumn(SUMMARY_COLUMNS["ece"], format="%.3f"),
        "parameters": st.column_config.NumberColumn(SUMMARY_COLUMNS["parameters"], format="localized"),
        "size_mb": st.column_config.NumberColumn(SUMMARY_COLUMNS["size_mb"], format="%.2f"),
        "ms_per_face": st.column_config.NumberColumn(SUMMARY_COLUMNS["ms_per_face"], format="%.2f"),
        "test_images": st.column_config.NumberColumn(SUMMARY_COLUMNS["test_images"], format="%d"),
    },
)
try:  # both chosen on PublicTest only, from the stored metrics
    best, best_flip = most_accurate()
    best_metrics = as_dict(by_name[best].metrics) if best in by_name else {}
    best_acc = (as_dict(as_dict(best_metrics.get("variants")).get("flip_tta")) if best_flip else best_metrics).get("accuracy")
    st.info(f"**Default: {default_model_name()}** ({default_rule()}). **Most accurate option: {best}{' with flip TTA' if best_flip else ''}**"
            + (f", {100 * best_acc:.2f}% on PrivateTest" if isinstance(best_acc, float) else "")
            + " (best PublicTest accuracy of every model, with and without flip TTA; choose it in the "
              "sidebar's model and TTA settings).")
except (ModelNotFoundError, KeyError, TypeError, AttributeError):
    pass  # nothing evaluated yet: the warning below says so
missing = [entry for entry in entries if not entry.evaluated]
if missing:
    st.warning("Not evaluated: " + "; ".join(f"{e.name} ({e.problem})" for e in missing)
               + ". Run `python -m fer_core evaluate NAME --data DIR` to add their numbers.")

st.subheader("End to end on real photos")
photos = photo_rows(entries)
if photos:
    sets = sorted({row["dataset"] for row in photos})
    st.caption(f"Photo set{'s' if len(sets) > 1 else ''}: {', '.join(sets)}. Detector, crop and classifier as the "
               "app runs them, the largest face per photo; a photo where no face is found counts as wrong. Written by "
               "`python -m fer_core evaluate-photos DIR --model NAME` into models/NAME/photos_SET.json; FER2013 "
               "accuracy (48x48 crops, no detection) beside it for comparison.")
    st.dataframe(photos, hide_index=True, column_order=list(PHOTO_COLUMNS), column_config={
        **{key: st.column_config.Column(label) for key, label in PHOTO_COLUMNS.items()},
        "accuracy": st.column_config.NumberColumn(PHOTO_COLUMNS["accuracy"], format="percent"),
        "fer2013_accuracy": st.column_config.NumberColumn(PHOTO_COLUMNS["fer2013_accuracy"], format="percent"),
        "macro_f1": st.column_config.NumberColumn(PHOTO_COLUMNS["macro_f1"], format="%.3f"),
    })
else:
    st.info("No end-to-end results on photos yet: `python -m fer_core evaluate-photos DIR --model NAME` "
            "(DIR holds one folder of photos per emotion) adds them.")

st.subheader("Speed and accuracy")
points = speed_accuracy_points(entries)
if points:
    st.plotly_chart(speed_accuracy_scatter(points, split=str(dataset.get("split") or "test")), key="speed-accuracy")
    st.caption("Up and to the left is better. Speed: each model's metrics.json (LiteRT, one face per call, "
               "median on the evaluation machine).")
else:
    st.info("No model has both a speed and an accuracy in its metrics.json.")


def show_confusion(entry: ModelEntry, *, counts: bool = True, key: str) -> None:
    found = confusion_matrix(entry.metrics or {})
    if found is None:
        st.info(f"{entry.name}: metrics.json holds no confusion matrix.")
        return
    matrix, labels = found
    if counts:
        left, right = st.columns(2)
        left.plotly_chart(confusion_heatmap(matrix, labels, normalised=False, title="counts"), key=f"{key}-counts")
        right.plotly_chart(confusion_heatmap(matrix, labels, normalised=True, title="share of each true class"),
                           key=f"{key}-share")
    else:
        st.plotly_chart(confusion_heatmap(matrix, labels, normalised=True, title=entry.name), key=f"{key}-share")


def show_detail(entry: ModelEntry) -> None:
    tabs = st.tabs(["Confusion matrix", "Per class", "Variants", "Training curves", "Real photos", "Model card"])
    metrics = entry.metrics
    with tabs[0]:
        if metrics is None:
            st.info(f"{entry.name} is not evaluated ({entry.problem}).")
        else:
            show_confusion(entry, key=f"detail-{entry.name}")
    with tabs[1]:
        classes = per_class(metrics or {})
        if classes:
            st.plotly_chart(per_class_bars(classes), key=f"per-class-{entry.name}")
        else:
            st.info(f"{entry.name}: no per-class scores.")
    with tabs[2]:
        if metrics is None:
            st.info(f"{entry.name} is not evaluated.")
        else:
            st.dataframe(variant_rows(metrics), hide_index=True, column_config={
                "accuracy": percent, "top2_accuracy": percent,
                "macro_f1": st.column_config.NumberColumn(format="%.3f"),
                "ece": st.column_config.NumberColumn(format="%.3f"),
                "size_mb": st.column_config.NumberColumn("size (MB)", format="%.2f")})
            st.caption("The app runs float32; flip TTA and int8 can be chosen in the sidebar (int8 only where it "
                       "is shipped).")
    with tabs[3]:
        if entry.history:
            st.plotly_chart(history_figure(entry.history), key=f"history-{entry.name}")
        else:
            st.info(f"{entry.name} has no training history (history.csv)"
                    + (": it is an ensemble of " + ", ".join(entry.info.members) if entry.info.is_ensemble else "")
                    + ".")
    with tabs[4]:
        recall = photo_recall_rows(entry)
        if recall:
            st.caption("Recall per emotion on each photo set (end to end: a photo without a face found is a miss).")
            st.dataframe(recall, hide_index=True, column_config={
                e: st.column_config.NumberColumn(e, format="percent") for e in EMOTIONS})
        else:
            st.info(f"{entry.name} has no end-to-end photo results (photos_*.json).")
    with tabs[5]:
        if entry.card:
            st.markdown(entry.card)
        else:
            st.info(f"{entry.name} has no model card (card.md).")


st.header("One model in detail")
names = [entry.name for entry in entries]
default = names.index(settings.model) if settings.model in names else 0  # the model in use
chosen = st.selectbox("Model", names, index=default, key="detail_model")
show_detail(by_name[chosen])

st.header("Two models side by side")
if len(evaluated) < 2:
    st.info("Only one model has metrics; install or evaluate a second one to compare them side by side.")
    st.stop()
ranked = sorted(evaluated, key=lambda e: -float(as_dict(e.metrics).get("accuracy", 0.0)))  # the best two by default
evaluated_names = [entry.name for entry in ranked]
columns = st.columns(2)
picked: list[ModelEntry] = []
for i, column in enumerate(columns):
    with column:
        name = st.selectbox(f"Model {'AB'[i]}", evaluated_names, index=i, key=f"compare_{i}")
        picked.append(by_name[name])
for i, column in enumerate(columns):
    entry, other = picked[i], picked[1 - i]
    mine, theirs = entry.metrics or {}, other.metrics or {}
    with column:
        st.caption(entry.info.title)
        cells = st.columns(4)
        for cell, (key, label, share, lower_is_better) in zip(cells, (
            ("accuracy", "accuracy", True, False), ("macro_f1", "macro-F1", False, False),
            ("top2_accuracy", "top-2", True, False), ("ece", "ECE", False, True),
        )):
            value, reference = mine.get(key), theirs.get(key)
            if not isinstance(value, (int, float)):
                cell.metric(label, "–")
                continue
            fmt = "{:.1%}" if share else "{:.3f}"
            delta = None
            if isinstance(reference, (int, float)) and entry.name != other.name:
                # shares differ in percentage points, not percent
                delta = f"{(value - reference) * 100:+.1f} pp" if share else f"{value - reference:+.3f}"
            cell.metric(label, fmt.format(value), delta=delta, delta_color="inverse" if lower_is_better else "normal",
                        help=f"difference to {other.name}")
        show_confusion(entry, counts=False, key=f"compare-{i}")
if picked[0].name != picked[1].name:
    st.subheader("F1 per emotion")
    st.plotly_chart(per_class_comparison({e.name: per_class(e.metrics or {}) for e in picked}),
                    key="compare-f1")
