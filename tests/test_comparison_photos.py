"""The Model comparison page's end-to-end photo numbers and its speed-vs-accuracy chart, on a
hand-made model folder (metrics files only: the page never loads a model)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from fer_core.labels import EMOTIONS
from fer_core.metrics import classification_report
from fer_core.model_zoo import list_models
from fer_core.photo_eval import NOT_FOUND, score_photos
from ui.charts import speed_accuracy_scatter
from ui.comparison import load_entries, photo_recall_rows, photo_rows, speed_accuracy_points

ROOT = Path(__file__).resolve().parent.parent
COMPARISON = str(ROOT / "pages" / "4_Model_comparison.py")


def _metrics(accuracy_target: int, ms: float) -> dict:
    labels = np.repeat(np.arange(7), 10)
    probs = np.full((70, 7), 0.01)
    probs[np.arange(70), np.where(np.arange(70) < accuracy_target, labels, (labels + 1) % 7)] = 0.9
    report = classification_report(probs, labels)
    report.update(dataset={"source": "x", "split": "PrivateTest", "images": 70}, file_bytes=1000, parameters=10,
                  speed={"ms_per_face_batch1_p50": ms}, variants={})
    return report


@pytest.fixture()
def zoo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    models = tmp_path / "models"
    index = {"default": "fast", "models": {"fast": {"title": "Fast one"}, "slow": {"title": "Slow one"},
                                           "new": {"title": "Not evaluated"}}}
    for name, correct, ms in (("fast", 42, 0.25), ("slow", 56, 1.5)):
        (models / name).mkdir(parents=True)
        (models / name / "metrics.json").write_text(json.dumps(_metrics(correct, ms)))
    (models / "new").mkdir()
    (models / "index.json").write_text(json.dumps(index))
    happy, sad = EMOTIONS.index("happy"), EMOTIONS.index("sad")
    photos = score_photos([happy, happy, sad, sad], [happy, happy, sad, NOT_FOUND])
    photos.update(dataset={"name": "studio_set", "photos": 4}, date="2026-11-23")
    (models / "fast" / "photos_studio_set.json").write_text(json.dumps(photos))
    (models / "slow" / "photos_broken.json").write_text("{ not json")  # must not take the page down
    monkeypatch.setenv("FER_MODELS_DIR", str(models))
    st.cache_data.clear()
    st.cache_resource.clear()
    return models


def test_photo_rows_and_points_come_from_the_files(zoo: Path):
    entries = load_entries(list_models())
    rows = photo_rows(entries)
    assert len(rows) == 1
    row = rows[0]
    assert (row["model"], row["dataset"], row["photos"], row["faces_found"]) == ("fast", "studio_set", 4, 3)
    assert row["accuracy"] == 0.75 and row["fer2013_accuracy"] == pytest.approx(0.6)
    (recall,) = photo_recall_rows(entries[0])
    assert recall == {"photo set": "studio_set", "happy": 1.0, "sad": 0.5}
    points = speed_accuracy_points(entries)
    assert [(p["model"], p["ms_per_face"]) for p in points] == [("fast", 0.25), ("slow", 1.5)]
    assert points[1]["accuracy"] == pytest.approx(0.8)


def test_scatter_puts_speed_on_x_and_accuracy_on_y_and_names_models_in_the_legend():
    figure = speed_accuracy_scatter([{"model": "a", "ms_per_face": 0.3, "accuracy": 0.5},
                                     {"model": "b", "ms_per_face": 2.0, "accuracy": 0.7}], default="a")
    assert [t.type for t in figure.data] == ["scatter", "scatter"]
    dots = {t.name: (t.x[0], t.y[0], t.marker.symbol) for t in figure.data}
    assert dots == {"b": (2.0, 0.7, "circle"), "a (default)": (0.3, 0.5, "star")}
    assert all(t.mode == "markers" for t in figure.data)  # no text beside the dots to overlap
    assert "ms per face" in figure.layout.xaxis.title.text and "accuracy" in figure.layout.yaxis.title.text
    people = speed_accuracy_scatter([{"model": "a", "ms_per_face": 0.3, "accuracy": 0.5, "ferplus_accuracy": 0.8}])
    assert people.layout.yaxis.title.text == "agrees with people"


def test_page_shows_the_photo_numbers_next_to_fer2013_and_the_scatter(zoo: Path):
    at = AppTest.from_file(COMPARISON, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    tables = [d.value for d in at.dataframe]
    photo_tables = [t for t in tables if "dataset" in t.columns and "faces_found" in t.columns]
    assert len(photo_tables) == 1
    table = photo_tables[0]
    assert list(table["dataset"]) == ["studio_set"] and list(table["model"]) == ["fast"]
    assert table.loc[0, "accuracy"] == 0.75 and table.loc[0, "fer2013_accuracy"] == pytest.approx(0.6)
    assert any("studio_set" in c.value for c in at.caption)  # the data set is named
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    scatter = [s for s in specs if s["data"][0]["type"] == "scatter" and s["data"][0].get("mode") == "markers"]
    assert len(scatter) == 1
    dots = {trace["name"].removesuffix(" (default)"): trace["x"][0] for trace in scatter[0]["data"]}
    assert dots == {"fast": 0.25, "slow": 1.5}
    # the detail tab of the default model (fast) lists its per-class recall on the photo set
    assert any(list(t.columns) == ["photo set", "happy", "sad"] for t in tables)


def test_page_says_how_to_add_photo_numbers_when_there_are_none(zoo: Path):
    for path in zoo.glob("*/photos_*.json"):
        path.unlink()
    at = AppTest.from_file(COMPARISON, default_timeout=60)
    at.run()
    assert not at.exception
    assert any("No model has been checked on real photos" in i.value for i in at.info)
    experts = next(e for e in at.expander if e.label == "Every metric, for experts")
    assert any("evaluate-photos" in m.value for m in experts.markdown)  # how to add them, one click away
