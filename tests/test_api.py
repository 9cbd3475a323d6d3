"""The one-call API: `fer_core.analyze(...)` on paths, bytes and arrays with the fixture's tiny
model, the cached default analyzer, `FaceAnalyzer.default`, and a cheap `import fer_core`."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fer_core
from fer_core.api import _cached_analyzer
from fer_core.classifier import ModelNotFoundError
from fer_core.labels import EMOTIONS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tiny_default(tiny_models_dir: Path, monkeypatch: pytest.MonkeyPatch):
    """fer_core's default model is the fixture's `tiny` for this test; the cache starts empty."""
    monkeypatch.setenv("FER_MODELS_DIR", str(tiny_models_dir))
    _cached_analyzer.cache_clear()
    yield
    _cached_analyzer.cache_clear()


def jpeg_bytes(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def test_analyze_takes_a_path_bytes_or_an_array_and_agrees(tiny_default, astronaut, tmp_path: Path) -> None:
    data = jpeg_bytes(astronaut)
    (tmp_path / "photo.jpg").write_bytes(data)
    from_path = fer_core.analyze(tmp_path / "photo.jpg")
    from_str = fer_core.analyze(str(tmp_path / "photo.jpg"))
    from_bytes = fer_core.analyze(data)
    from_array = fer_core.analyze(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
    assert len(from_path) == 1 and from_path == from_str == from_bytes == from_array  # id, box, score
    face = from_path[0]
    assert face.emotion in EMOTIONS and face.probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    np.testing.assert_allclose(face.probabilities, from_array[0].probabilities, atol=1e-6)
    assert repr(face).startswith(f"FaceResult(face_id=1, emotion={face.emotion!r}, confidence=")


def test_the_default_analyzer_is_built_once_and_reused(tiny_default) -> None:
    first = fer_core.default_analyzer()
    assert fer_core.default_analyzer() is first
    assert first.classifier.name == "tiny"
    assert fer_core.default_analyzer(detector="haar") is not first  # another key, another analyzer


def test_analyze_takes_flip_tta_as_the_readme_says(tiny_default, astronaut) -> None:
    plain = fer_core.analyze(astronaut, flip_tta=False)
    flipped = fer_core.analyze(astronaut, flip_tta=True)
    assert fer_core.default_analyzer(flip_tta=True).classifier.flip_tta
    assert not fer_core.default_analyzer(flip_tta=False).classifier.flip_tta
    assert plain[0].box == flipped[0].box
    assert not np.allclose(plain[0].probabilities, flipped[0].probabilities)  # the mirror was averaged in


def test_the_default_analyzer_uses_flip_tta_as_the_app_does(tiny_models_dir: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    zoo = tmp_path / "models"
    shutil.copytree(tiny_models_dir, zoo)
    monkeypatch.setenv("FER_MODELS_DIR", str(zoo))
    assert not fer_core.FaceAnalyzer.default().classifier.flip_tta  # the fixture's index has no decision
    index = json.loads((zoo / "index.json").read_text())
    (zoo / "index.json").write_text(json.dumps({**index, "default_flip_tta": True}))
    assert fer_core.FaceAnalyzer.default().classifier.flip_tta
    assert not fer_core.FaceAnalyzer.default(flip_tta=False).classifier.flip_tta  # an explicit choice wins


def test_unreadable_input_and_unknown_model_give_the_library_errors(tiny_default, tmp_path: Path) -> None:
    (tmp_path / "notes.jpg").write_text("not an image")
    with pytest.raises(fer_core.ImageLoadError, match="notes.jpg"):
        fer_core.analyze(tmp_path / "notes.jpg")
    with pytest.raises(ModelNotFoundError, match="unknown model 'nope'"):
        fer_core.analyze(np.zeros((64, 64, 3), np.uint8), model="nope")
    with pytest.raises(ValueError, match="unknown face detector"):
        fer_core.FaceAnalyzer.default(detector="nope")


def test_face_analyzer_default_takes_model_detector_and_runtime(tiny_default, astronaut) -> None:
    analyzer = fer_core.FaceAnalyzer.default(model="tiny", detector="blazeface-full", runtime="float", flip_tta=True)
    assert analyzer.detector.name == "blazeface-full" and analyzer.classifier.name == "tiny"
    assert len(analyzer.analyze(astronaut)) == 1


def test_importing_fer_core_loads_no_image_or_model_library() -> None:
    probe = ("import sys, fer_core; print(sorted(m for m in ('cv2', 'numpy', 'PIL', 'ai_edge_litert', 'keras') "
             "if m in sys.modules)); print(fer_core.__version__)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    loaded, version = done.stdout.split("\n")[:2]
    assert loaded == "[]", done.stdout
    assert version == fer_core.__version__
    assert set(fer_core.__all__) <= set(dir(fer_core)) | set(fer_core._LAZY) | {"__version__"}
    with pytest.raises(AttributeError):
        fer_core.no_such_name  # noqa: B018


def test_the_console_script_and_python_m_are_one_program() -> None:
    done = subprocess.run([sys.executable, "-m", "fer_core", "--version"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == f"fer-core {fer_core.__version__}"
