"""Model comparison: every shipped model on the numbers its own evaluation wrote.

Everything comes from each model folder's metrics.json, history.csv and card.md (ui.comparison
reads them defensively); no number on this page is typed in."""

from __future__ import annotations

import streamlit as st

from fer_core.classifier import ModelNotFoundError
from fer_core.labels import EMOTIONS
from fer_core.model_zoo import default_flip_tta, default_model_name, default_rule, list_models, most_accurate
from ui.charts import confusion_heatmap, history_figure, per_class_bars, per_class_comparison, speed_accuracy_scatter
from ui.comparison import (
    COLUMN_HELP,
    GLOSSARY,
    MAIN_COLUMNS,
    PHOTO_COLUMNS,
    SUMMARY_COLUMNS,
    ModelEntry,
    as_dict,
    confusion_matrix,
    display_card,
    load_entries,
    per_class,
    photo_recall_rows,
    photo_rows,
    picks,
    speed_accuracy_points,
    summary_rows,
    variant_rows,
)
from ui.settings import sidebar_settings
from ui.startup import app_startup

st.set_page_config(page_title="Model comparison · Facial expressions", page_icon="📊", layout="wide")
app_startup()  # the session reaper, once per server: a deep link may open this page first
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
try:
    default_name: str | None = default_model_name()
except ModelNotFoundError:
    default_name = None
try:  # chosen on PublicTest only, from the stored metrics
    best: tuple[str, bool] | None = most_accurate()
except ModelNotFoundError:
    best = None

st.subheader("Which model should I use?")
lead = picks(entries, default_name or "", best, default_flip_tta())
if lead:
    st.markdown("\n".join(f"- **{pick.use}: `{pick.model}`.** {pick.why}" for pick in lead))
    st.caption("“Test faces”: faces no model learned from or was chosen on. Each choice above was made on a "
               "separate set of practice faces, so these figures are not flattered by it. Pick a model in the "
               "sidebar; every page then uses it.")

percent = st.column_config.NumberColumn(format="percent")


def table(rows: list[dict], columns: tuple[str, ...] | list[str]) -> None:
    share = {"ferplus_accuracy", "accuracy", "photo_accuracy", "top2_accuracy"}
    formats = {"macro_f1": "%.3f", "ece": "%.3f", "parameters": "localized", "size_mb": "%.1f",
               "ms_per_face": "%.2f", "test_images": "%d"}
    config: dict = {}
    for key in columns:
        label, help_text = SUMMARY_COLUMNS[key], COLUMN_HELP[key]
        if key in share:
            config[key] = st.column_config.NumberColumn(label, format="percent", help=help_text)
        elif key in formats:
            config[key] = st.column_config.NumberColumn(label, format=formats[key], help=help_text)
        else:
            config[key] = st.column_config.Column(label, help=help_text)
    # only the columns shown: the data a newcomer's table sends is the data it shows
    st.dataframe([{key: row.get(key) for key in columns} for row in rows], hide_index=True,
                 column_order=list(columns), column_config=config, height=rows_height(len(rows)))


def rows_height(count: int) -> int:
    """Pixels for a table that shows all its rows (Streamlit's default scrolls after ten)."""
    return 35 * (count + 1) + 3


rows = summary_rows(entries)
for row in rows:  # the default marked where the eye starts, as the sidebar marks it
    if row["model"] == default_name:
        row["model"] = f"{row['model']} (default)"
table(rows, MAIN_COLUMNS)
st.caption("Hover over a column's name for what it means. " + (
    f"Test faces: {dataset.get('images', '?')} of FER2013's PrivateTest; real photos: "
    "posed photos of 29 people, face finding included. " if dataset else "")
    + "Every number was written by the model's own evaluation; none is typed in.")
missing = [entry for entry in entries if not entry.evaluated]
if missing:
    st.warning("Not evaluated: " + "; ".join(f"{e.name} ({e.problem})" for e in missing) + ".")

with st.expander("Every metric, for experts"):
    table(rows, list(SUMMARY_COLUMNS))
    if default_name:
        st.markdown(f"**How the default was chosen:** {default_rule()}.")
    if best:
        st.markdown(f"**Most accurate option on FER2013's labels:** `{best[0]}`"
                    f"{' with flip TTA' if best[1] else ''}: the best PublicTest accuracy of every model, with "
                    "and without flip TTA.")
    st.markdown("**How these numbers are made:** `python -m fer_core evaluate NAME --data DIR` writes each "
                "model's metrics.json (FER2013 labels and, when the FER+ votes lie beside the data, agreement "
                "with people); `python -m fer_core evaluate-photos DIR --model NAME` the real-photo figures. "
                "Speed: LiteRT, one face per call, median, on the evaluating machine.")
with st.expander("What the words mean"):
    st.markdown("\n".join(f"- **{term}**: {meaning}" for term, meaning in GLOSSARY.items()))

st.subheader("End to end on real photos")
photos = photo_rows(entries)
if photos:
    sets = sorted({row["dataset"] for row in photos})
    st.caption(f"Photo set{'s' if len(sets) > 1 else ''}: {', '.join(sets)}. Face finding, crop and model as the "
               "app runs them, the largest face per photo; a photo where no face is found counts as wrong. The "
               "FER2013 figure (small face crops, no face finding) is beside it for comparison.")
    st.dataframe(photos, hide_index=True, column_order=list(PHOTO_COLUMNS), height=rows_height(len(photos)),
                 column_config={
        **{key: st.column_config.Column(label) for key, label in PHOTO_COLUMNS.items()},
        "accuracy": st.column_config.NumberColumn(PHOTO_COLUMNS["accuracy"], format="percent"),
        "fer2013_accuracy": st.column_config.NumberColumn(PHOTO_COLUMNS["fer2013_accuracy"], format="percent"),
        "macro_f1": st.column_config.NumberColumn(PHOTO_COLUMNS["macro_f1"], format="%.3f"),
    })
else:
    st.info("No model has been checked on real photos yet (see “Every metric, for experts” for how).")

st.subheader("Speed and accuracy")
points = speed_accuracy_points(entries)
if points:
    st.plotly_chart(speed_accuracy_scatter(points, split=str(dataset.get("split") or "test"), default=default_name),
                    key="speed-accuracy")
    st.caption("Up and to the left is better: right more often, in less time. Hover over a dot for its "
               "figures; click a name in the legend to hide it.")
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
                "variant": st.column_config.Column("variant", help="How the model is run: as shipped (float32), "
                                                   "with flip TTA, or its int8 file."),
                "accuracy": st.column_config.NumberColumn("FER2013 labels", format="percent",
                                                          help=COLUMN_HELP["accuracy"]),
                "top2_accuracy": st.column_config.NumberColumn("top-2", format="percent",
                                                               help=COLUMN_HELP["top2_accuracy"]),
                "macro_f1": st.column_config.NumberColumn("macro-F1", format="%.3f", help=COLUMN_HELP["macro_f1"]),
                "ece": st.column_config.NumberColumn("ECE", format="%.3f", help=COLUMN_HELP["ece"]),
                "size_mb": st.column_config.NumberColumn("size (MB)", format="%.2f", help=COLUMN_HELP["size_mb"]),
                "shipped": st.column_config.CheckboxColumn("shipped", help="Whether the app can run this variant.")})
            st.caption("This blend always runs its members' int8 files; flip TTA can be chosen in the sidebar."
                       if entry.info.member_runtime else
                       "The app runs float32; flip TTA and int8 can be chosen in the sidebar (int8 only where it "
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
            st.markdown(display_card(entry.card))  # no local paths, no raw "T = 0.57"
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
