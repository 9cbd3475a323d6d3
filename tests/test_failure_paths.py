"""Failures a user can hit, each answered with a message that says what to do: a damaged model
index, a tiny or odd image, bad settings, invalid relay settings on a relay-only server, a run
without a trained model. Every user-facing error derives from `FerError`, so the pages and the
CLI show its message, while a bug (any other exception) is reported as a bug."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from fer_core.classifier import ModelNotFoundError
from fer_core.errors import ConfigError, FerError, UnusableImageError
from fer_core.image_io import encode_png
from fer_core.live.ice import IceConfigError, fallback_configuration, rtc_configuration
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]


def _user_error_classes() -> list[type]:
    from fer_core.detection.base import DetectorUnavailableError
    from fer_core.image_io import ImageLoadError
    from fer_core.photo_eval import PhotoSetError
    from fer_core.predict_cli import InputError
    from fer_core.training.data import DatasetError
    from fer_core.training.votes import VotesError
    from fer_core.video import VideoLoadError

    return [ModelNotFoundError, DetectorUnavailableError, ImageLoadError, VideoLoadError, IceConfigError, InputError,
            DatasetError, VotesError, PhotoSetError, ConfigError, UnusableImageError]


def test_every_user_facing_error_is_a_fer_error():
    for cls in _user_error_classes():
        assert issubclass(cls, FerError), cls


@pytest.fixture()
def damaged_models(tmp_path: Path, tiny_models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "models"
    shutil.copytree(tiny_models_dir, root)
    (root / "index.json").write_text('{"default": "tiny", "models": {')  # cut off mid-write
    monkeypatch.setenv("FER_MODELS_DIR", str(root))
    st.cache_data.clear()
    st.cache_resource.clear()
    return root


@pytest.mark.parametrize("content", ['{"default": "tiny", "models": {', "[]", '{"default": "gone", "models": {}}'])
def test_a_damaged_index_is_a_clear_model_error(tmp_path: Path, content: str):
    from fer_core.model_zoo import list_models

    (tmp_path / "index.json").write_text(content)
    with pytest.raises(ModelNotFoundError, match="damaged"):
        list_models(tmp_path)


def test_a_damaged_index_gives_the_cli_one_line_not_a_traceback(damaged_models: Path, tmp_path: Path):
    photo = tmp_path / "wall.png"
    photo.write_bytes(encode_png(np.full((64, 64, 3), 128, np.uint8)))
    result = run_cli("predict", str(photo), env={"FER_MODELS_DIR": str(damaged_models)})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "damaged" in result.stderr and "index.json" in result.stderr


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_a_damaged_index_gives_every_page_a_message_not_a_traceback(damaged_models: Path, page: Path):
    at = AppTest.from_file(str(page), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if page.name != "app.py":  # the landing page leaves the model line out and links on
        assert any("damaged" in e.value for e in at.error), [e.value for e in at.error]


def test_a_one_pixel_png_gets_a_plain_message(monkeypatch: pytest.MonkeyPatch, tiny_models_dir: Path):
    monkeypatch.setenv("FER_MODELS_DIR", str(tiny_models_dir))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "pages" / "1_Photo.py"), default_timeout=120)
    at.run()
    at.file_uploader[0].set_value(("dot.png", encode_png(np.zeros((1, 1, 3), np.uint8)), "image/png")).run()
    assert not at.exception
    (message,) = [e.value for e in at.error]
    assert "too small to hold a face" in message and "dot.png" in message
    assert "Error" not in message  # no exception class names for the user


def test_a_bug_is_reported_as_a_bug_not_as_the_users_fault(monkeypatch: pytest.MonkeyPatch, tiny_models_dir: Path,
                                                          astronaut: np.ndarray):
    from fer_core.pipeline import FaceAnalyzer

    monkeypatch.setenv("FER_MODELS_DIR", str(tiny_models_dir))
    st.cache_data.clear()
    st.cache_resource.clear()

    def broken(self, image):
        raise ValueError("index 3 is out of bounds")  # what a bug looks like

    monkeypatch.setattr(FaceAnalyzer, "analyze", broken)
    at = AppTest.from_file(str(ROOT / "pages" / "1_Photo.py"), default_timeout=120)
    at.run()
    at.file_uploader[0].set_value(("a.png", encode_png(astronaut), "image/png")).run()
    assert not at.exception
    (message,) = [e.value for e in at.error]
    assert "error in the app" in message and "out of bounds" not in message


@pytest.mark.parametrize("env, match", [
    ({"FER_MAX_STREAMS": "many"}, "FER_MAX_STREAMS"),
    ({"FER_ANALYSIS_SLOTS": "0"}, "FER_ANALYSIS_SLOTS"),
    ({"FER_DETECT_EVERY": "0"}, "FER_DETECT_EVERY"),
    ({"FER_LIVE_FRAME_FORMAT": "bgr"}, "FER_LIVE_FRAME_FORMAT"),
    ({"FER_REDUCED_CAMERA_SIZE": "big"}, "FER_REDUCED_CAMERA_SIZE"),
    ({"FER_LIVE_PACING": "often"}, "FER_LIVE_PACING"),
])
def test_bad_capacity_settings_stop_the_live_page_with_their_name(monkeypatch: pytest.MonkeyPatch,
                                                                  tiny_models_dir: Path, env: dict, match: str):
    monkeypatch.setenv("FER_MODELS_DIR", str(tiny_models_dir))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "pages" / "2_Live_webcam.py"), default_timeout=120)
    at.run()
    assert not at.exception
    assert any(match in e.value and "Cannot start the analysis" in e.value for e in at.error)


def test_invalid_relay_settings_never_fall_back_to_direct_connections():
    relay_only = {"FER_ICE_POLICY": "relay", "FER_TURN_URL": "turn:turn.example:3478"}  # no credentials
    with pytest.raises(IceConfigError):
        rtc_configuration(relay_only)
    assert fallback_configuration(relay_only) is None
    assert fallback_configuration({"FER_ICE_POLICY": "relay-only"}) is None  # a typo asks for the relay too
    plain = {"FER_TURN_URL": "turn:turn.example:3478"}
    with pytest.raises(IceConfigError):
        rtc_configuration(plain)
    assert fallback_configuration(plain) == {"iceServers": [{"urls": list(rtc_configuration({})["iceServers"][0]["urls"])}]}


def test_the_live_page_refuses_to_start_without_its_relay(monkeypatch: pytest.MonkeyPatch, tiny_models_dir: Path):
    monkeypatch.setenv("FER_MODELS_DIR", str(tiny_models_dir))
    monkeypatch.setenv("FER_ICE_POLICY", "relay")
    monkeypatch.setenv("FER_TURN_URL", "turn:turn.example:3478")
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "pages" / "2_Live_webcam.py"), default_timeout=120)
    at.run()
    assert not at.exception
    assert any("relayed connections only" in e.value for e in at.error)
    assert not at.get("component_instance")  # the streamer (a custom component) is never drawn


def test_export_of_a_run_without_a_model_says_train_first(tmp_path: Path):
    (tmp_path / "run").mkdir()
    result = run_cli("export", str(tmp_path / "run"), "--name", "x", env={"FER_MODELS_DIR": str(tmp_path / "m")})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "best.keras does not exist: train first" in result.stderr


def test_a_folder_without_images_is_an_input_error(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    result = run_cli("predict", str(tmp_path / "empty"))
    assert result.returncode == 1 and "Traceback" not in result.stderr and "holds no images" in result.stderr


def test_a_detector_rejects_an_unusable_image_with_a_fer_error():
    from fer_core.detection.base import check_image

    with pytest.raises(UnusableImageError, match="too small"):
        check_image(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(UnusableImageError, match="uint8"):
        check_image(np.zeros((40, 40, 3), np.float32))


def test_a_dataset_with_an_unreadable_image_names_it(tmp_path: Path, synthetic_data: Path):
    data = tmp_path / "data"
    shutil.copytree(synthetic_data, data)
    (data / "train" / "happy" / "Training_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    result = run_cli("train", "--arch", "baseline_cnn", "--data", str(data), "--out", str(tmp_path / "run"),
                     "--epochs", "1")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "cannot read image" in result.stderr and "Training_broken.png" in result.stderr


def test_a_malformed_secrets_file_is_reported_and_the_environment_still_applies(tmp_path: Path):
    from streamlit import config
    from streamlit.runtime.secrets import Secrets

    from ui.live_ice import read_secrets

    bad = tmp_path / "secrets.toml"
    bad.write_text('FER_TURN_URL = "turn:turn.example:3478\nFER_TURN_SECRET = \n')  # unterminated string
    good = tmp_path / "good.toml"
    good.write_text('FER_TURN_URL = "turn:turn.example:3478"\n[section]\nkey = 1\n')
    saved = config.get_option("secrets.files")
    try:
        config.set_option("secrets.files", [str(bad)])
        keys, problem = read_secrets(Secrets())
        assert keys == {} and problem and "Could not read Streamlit secrets" in problem
        config.set_option("secrets.files", [str(good)])
        assert read_secrets(Secrets()) == ({"FER_TURN_URL": "turn:turn.example:3478"}, None)  # sections are not settings
        config.set_option("secrets.files", [str(tmp_path / "absent.toml")])
        assert read_secrets(Secrets()) == ({}, None)
    finally:
        config.set_option("secrets.files", saved)
