"""FER+ crowd votes: the loader attaches them, training takes them as targets, evaluation
reports agreement with people. Small hand-made vote tables; the full benchmark is checked
against the shipped models in test_shipped_models."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from fer_core.calibration import PRIOR_STRENGTHS, fit_temperature, negative_log_likelihood
from fer_core.labels import EMOTIONS
from fer_core.metrics import ferplus_report, vote_calibration_error
from fer_core.training.data import attach_votes, load_dataset, with_emotion_majority
from fer_core.training.schedule import label_targets, vote_share
from fer_core.training.votes import (
    NOT_AN_EMOTION,
    VOTE_COLUMNS,
    VotesError,
    emotion_distribution,
    load_votes,
    majority,
    top1_has_votes,
)
from tests.conftest import run_cli


def _votes(**counts: int) -> list[float]:
    return [float(counts.get(c, 0)) for c in VOTE_COLUMNS]


def test_majority_follows_ferplus_conventions():
    v = np.array([
        _votes(happiness=6, neutral=4),           # clear winner
        _votes(unknown=6, sadness=4),             # people could not tell: not an emotion
        _votes(NF=5, anger=5),                    # a tie with not-a-face counts as the emotion
        _votes(anger=4, neutral=4, fear=2),       # tie between emotions: FER+ column order, neutral first
        _votes(contempt=7, disgust=3),            # contempt is not one of our classes
        [np.nan] * len(VOTE_COLUMNS),             # a face without votes
    ], np.float32)
    assert majority(v).tolist() == [EMOTIONS.index("happy"), NOT_AN_EMOTION, EMOTIONS.index("angry"),
                                    EMOTIONS.index("neutral"), NOT_AN_EMOTION, NOT_AN_EMOTION]
    dist = emotion_distribution(v)
    np.testing.assert_allclose(dist[0][EMOTIONS.index("happy")], 0.6)
    np.testing.assert_allclose(dist[4][EMOTIONS.index("disgust")], 1.0)  # contempt votes dropped
    assert dist[5].sum() == 0.0
    assert top1_has_votes(np.array([EMOTIONS.index("neutral")]), v[:1]).tolist() == [True]
    assert top1_has_votes(np.array([EMOTIONS.index("fear")]), v[:1]).tolist() == [False]


def test_label_options():
    assert vote_share("fer2013") == 0.0 and vote_share("ferplus") == 1.0 and vote_share("mix:0.25") == 0.25
    for bad in ("votes", "mix:", "mix:1.5", "mix:x"):
        with pytest.raises(ValueError, match="--labels"):
            vote_share(bad)
    onehot = np.eye(7, dtype=np.float32)[[0]]
    dist = np.full((1, 7), 1 / 7, np.float32)
    np.testing.assert_allclose(label_targets(onehot, dist, 0.5), 0.5 * onehot + 0.5 * dist)
    np.testing.assert_allclose(label_targets(onehot, dist, 0.0), onehot)


def test_ferplus_report_scores_against_the_majority_not_the_fer2013_label():
    votes = np.array([_votes(happiness=8, surprise=2), _votes(sadness=6, neutral=4), _votes(unknown=9, fear=1)])
    probs = np.full((3, 7), 0.01)
    probs[0, EMOTIONS.index("happy")] = 0.9
    probs[1, EMOTIONS.index("neutral")] = 0.9  # 4 of 10 people agree: wrong on the majority, has >= 2 votes
    probs[2, EMOTIONS.index("fear")] = 0.9
    probs /= probs.sum(axis=1, keepdims=True)
    r = ferplus_report(probs, votes)
    assert r["count"] == 2  # the unknown face is left out
    assert r["accuracy"] == 0.5 and r["top1_has_2_votes"] == 1.0
    assert 0.0 < r["vote_ece"] < 1.0 and r["vote_cross_entropy"] > 0.0


def test_vote_calibration_is_zero_when_confidence_matches_the_vote_share():
    dist = np.array([[0.7, 0.3, 0, 0, 0, 0, 0]] * 4)
    assert vote_calibration_error(dist, dist) == pytest.approx(0.0)
    assert vote_calibration_error(np.eye(7)[[0, 0, 0, 0]], dist) == pytest.approx(0.3)
    # a temperature fitted to vote shares reproduces them: softmax(log p / T) with p = dist^(1/T0)
    spread = np.array([[0.4, 0.3, 0.1, 0.05, 0.05, 0.05, 0.05]] * 4)
    sharp = spread ** 4
    sharp /= sharp.sum(axis=1, keepdims=True)
    assert fit_temperature(sharp, spread) == pytest.approx(4.0, rel=0.02)
    # soft targets that are one-hot give the usual negative log-likelihood
    labels = np.array([0, 1, 0, 0])
    assert negative_log_likelihood(dist, np.eye(7)[labels]) == pytest.approx(negative_log_likelihood(dist, labels))


def _write_votes(data: Path, path: Path, *, skip: int = 1) -> dict[str, list[float]]:
    """A vote table for every image of `data` but the first `skip`: the majority is the folder's
    emotion except for every third face, which people voted unknown."""
    table = {}
    files = sorted(p for p in data.rglob("*.png"))
    for i, f in enumerate(files[skip:]):
        rel = f.relative_to(data).as_posix()
        emotion = f.parent.name
        col = dict(zip(EMOTIONS, VOTE_COLUMNS))[emotion]
        table[rel] = _votes(**{col: 7, "neutral": 3}) if i % 3 else _votes(unknown=8, **{col: 2})
        if emotion == "neutral":
            table[rel] = _votes(neutral=10) if i % 3 else _votes(unknown=8, neutral=2)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "ferplus_image", *VOTE_COLUMNS])
        for k, v in table.items():
            w.writerow([k, "fer0000000.png", *[int(x) for x in v]])
    return table


def test_loader_attaches_votes_by_file_name(tmp_path, synthetic_data):
    votes_csv = tmp_path / "votes.csv"
    table = _write_votes(synthetic_data, votes_csv)
    ds = attach_votes(load_dataset(synthetic_data), votes_csv)
    all_rows = np.concatenate([s.votes for s in ds.splits.values()])
    assert np.isnan(all_rows).all(axis=1).sum() == 1  # the one file without a row
    test = ds["test"]
    for path, row in zip(test.paths, test.votes):
        rel = Path(path).relative_to(synthetic_data).as_posix()
        if rel in table:
            np.testing.assert_array_equal(row, table[rel])
    bench = with_emotion_majority(test)
    assert len(bench) == int((majority(test.votes) != NOT_AN_EMOTION).sum()) > 0
    assert (bench.labels == test.labels[majority(test.votes) != NOT_AN_EMOTION]).all()


def test_bad_vote_files(tmp_path):
    with pytest.raises(VotesError, match="does not exist"):
        load_votes(tmp_path / "none.csv")
    (tmp_path / "v.csv").write_text("file,neutral\nx.jpg,3\n")
    with pytest.raises(VotesError, match="lacks column"):
        load_votes(tmp_path / "v.csv")


def test_train_on_votes_then_evaluate_reports_both_benchmarks(tmp_path, synthetic_data):
    data = tmp_path / "fer2013"
    shutil.copytree(synthetic_data, data)
    (tmp_path / "ferplus").mkdir()
    _write_votes(data, tmp_path / "ferplus" / "votes.csv")  # found beside the data, as in ../shared/data
    models = tmp_path / "models"
    env = {"FER_MODELS_DIR": str(models)}
    train = run_cli("train", "--arch", "baseline_cnn", "--data", str(data), "--out", str(tmp_path / "run"),
                    "--epochs", "1", "--batch-size", "16", "--labels", "ferplus", env=env)
    assert train.returncode == 0, train.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "train_config.json").read_text())
    assert summary["dataset"]["labels"] == "ferplus"
    assert 0 < summary["dataset"]["train_images"] < 12 * len(EMOTIONS)  # faces voted unknown are left out
    export = run_cli("export", str(tmp_path / "run"), "--name", "votes", "--data", str(data), env=env)
    assert export.returncode == 0, export.stderr[-3000:]
    metrics = json.loads((models / "votes" / "metrics.json").read_text())
    fp = metrics["ferplus"]
    assert 0.0 <= fp["accuracy"] <= 1.0 and "publictest_accuracy" in fp and fp["count"] < metrics["count"]
    assert "ferplus" in metrics["variants"]["flip_tta"]
    # export skips the temperature below 500 PublicTest faces; fitted anyway, it is fitted to the votes
    from fer_core.training.export import calibrate_shipped

    fit = calibrate_shipped("votes", root=models, dataset=load_dataset(data), min_images=1)
    assert fit["fitted_on"].startswith("PublicTest FER+ vote shares")
    entry = json.loads((models / "index.json").read_text())["models"]["votes"]
    assert entry["temperature"] == fit["temperature"]
    # ... and its prior correction is chosen on PublicTest's majority, every strength on record
    correction = entry["prior_correction"]
    assert [row["strength"] for row in correction["publictest"]] == list(PRIOR_STRENGTHS)
    assert correction["strength"] in PRIOR_STRENGTHS
    assert abs(sum(correction["training_prior"].values()) - 1.0) < 1e-3
    assert ("class_bias" in entry) == (correction["strength"] > 0)
    # `blend` weights two shipped models on PublicTest and ships them as an ensemble: two copies of
    # one model, so every weighting scores the same and the blend scores what its member does
    shutil.copytree(models / "votes", models / "votes2")
    index = json.loads((models / "index.json").read_text())
    index["models"]["votes2"] = dict(index["models"]["votes"])
    (models / "index.json").write_text(json.dumps(index))
    done = run_cli("blend", "crowd_blend", "--members", "votes,votes2", "--data", str(data), env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    entry = json.loads((models / "index.json").read_text())["models"]["crowd_blend"]
    assert entry["members"] == ["votes", "votes2"] and abs(sum(entry["weights"]) - 1) < 1e-9
    assert len(entry["blend"]["table"]) == 9 and entry["blend"]["rule"].startswith("highest PublicTest FER+")
    blended = json.loads((models / "crowd_blend" / "metrics.json").read_text())
    member = json.loads((models / "votes" / "metrics.json").read_text())
    assert blended["ferplus"]["confusion_matrix"] == member["ferplus"]["confusion_matrix"]
    assert "A blend: the probabilities of" in (models / "crowd_blend" / "card.md").read_text()
    # the same over the quantized files, where export kept them; a clear refusal where it did not
    done = run_cli("blend", "crowd_q", "--members", "votes,votes2", "--data", str(data), "--runtime", "int8", env=env)
    if (models / "votes" / "model_int8.tflite").is_file():
        assert done.returncode == 0, done.stderr[-3000:]
        entry = json.loads((models / "index.json").read_text())["models"]["crowd_q"]
        assert entry["member_runtime"] == "int8" and "the int8 files" in entry["blend"]["fitted_on"]
        assert json.loads((models / "crowd_q" / "metrics.json").read_text())["runtime"].startswith("LiteRT int8")
    else:
        assert done.returncode == 1 and "no int8 file for votes, votes2" in done.stderr
    floor = tmp_path / "floor.json"
    floor.write_text(json.dumps({"publictest_accuracy": 1.01, "source": "an impossible floor"}))
    done = run_cli("blend", "no_blend", "--members", "votes,votes2", "--data", str(data), "--fer2013-floor",
                   str(floor), env=env)
    assert done.returncode == 1 and "no weighting of these members reaches the FER2013 floor" in done.stderr
    assert "no_blend" not in json.loads((models / "index.json").read_text())["models"]
    bad = run_cli("train", "--arch", "baseline_cnn", "--data", str(synthetic_data), "--out", str(tmp_path / "r2"),
                  "--epochs", "1", "--labels", "crowd", env=env)
    assert bad.returncode != 0 and "--labels" in bad.stderr
