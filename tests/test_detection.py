"""Face detectors: real faces, groups, roll, small faces, grey/RGBA input, no-face images, bad
input, the second look at faint small faces, and every way a detector can be unavailable.

Photos come from scikit-image (installed); nothing is downloaded. The benchmark's larger photo
set (bench/common/photo_set.py) fetches package files and is not used here.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Iterator
from functools import cache

import cv2
import numpy as np
import pytest

from fer_core.detection import _COMBINED as DEFAULT_THRESHOLDS
from fer_core.detection import (
    DEFAULT_DETECTOR,
    DETECTOR_DESCRIPTIONS,
    DETECTOR_NAMES,
    Detection,
    DetectorUnavailableError,
    FaceDetector,
    blazeface,
    create_detector,
    haar,
)
from fer_core.detection.base import MIN_IMAGE_SIDE
from fer_core.pipeline import FaceAnalyzer

ASTRONAUT_FACE = (174, 68, 104, 106)  # x, y, w, h: hairline to chin, cheek to cheek (by eye)
BLAZEFACE_NAMES = [n for n in DETECTOR_NAMES if n.startswith("blazeface")]


# --- helpers -------------------------------------------------------------------------------


@cache
def astronaut() -> np.ndarray:
    from skimage import data

    image = data.astronaut()
    image.setflags(write=False)  # shared between tests: nobody may change it
    return image


@cache
def detector(name: str) -> FaceDetector:
    return create_detector(name)


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    iw = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def centre(box: tuple[int, int, int, int]) -> tuple[float, float]:
    return box[0] + box[2] / 2, box[1] + box[3] / 2


def scaled_astronaut(face_px: int, frame: tuple[int, int], at: tuple[int, int]) -> tuple[np.ndarray, tuple]:
    """The astronaut shrunk until her face is `face_px` tall, pasted at `at` on a grey frame
    (height, width); returns the frame and where her face box went."""
    factor = face_px / ASTRONAUT_FACE[3]
    small = cv2.resize(astronaut(), None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    image = np.full((*frame, 3), 128, np.uint8)
    y, x = at
    image[y : y + small.shape[0], x : x + small.shape[1]] = small
    box = tuple(int(round(v * factor)) for v in ASTRONAUT_FACE)
    return image, (box[0] + x, box[1] + y, box[2], box[3])


def group_photo() -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Six copies of the astronaut's head (with some surroundings) in a 3x2 grid, 640x480."""
    fx, fy, fw, fh = ASTRONAUT_FACE
    half = 115
    cx, cy = fx + fw // 2, fy + fh // 2
    x0, y0 = cx - half, max(0, cy - half)
    crop = astronaut()[y0 : y0 + 2 * half, x0 : x0 + 2 * half]
    tile_side = 200
    tile = cv2.resize(crop, (tile_side, tile_side), interpolation=cv2.INTER_AREA)
    factor = tile_side / crop.shape[1]
    frame = np.zeros((480, 640, 3), np.uint8)
    faces = []
    for i in range(6):
        x, y = (i % 3) * 213 + 6, (i // 3) * 240 + 10
        frame[y : y + tile_side, x : x + tile_side] = tile
        faces.append((int(x + (fx - x0) * factor), int(y + (fy - y0) * factor), int(fw * factor), int(fh * factor)))
    return frame, faces


def head(face_px: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The astronaut's head and shoulders (a square twice her face's height around it), scaled
    until her face is `face_px` tall; returns the tile and her face box in it."""
    fx, fy, fw, fh = ASTRONAUT_FACE
    cx, cy = fx + fw // 2, fy + fh // 2
    x0, y0 = cx - fh, max(0, cy - fh)
    crop = astronaut()[y0 : y0 + 2 * fh, x0 : x0 + 2 * fh]
    f = face_px / fh
    tile = cv2.resize(crop, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    return tile, (round((fx - x0) * f), round((fy - y0) * f), round(fw * f), round(fh * f))


# (face height, top-left corner) of each head: large portraits, then two small faces at the bottom
# right, the layout of dlib's `bald_guys.jpg` collage (1986x1545), whose two bottom-right faces
# (135-160 px) the default detector missed (issue 25)
COLLAGE_SIZE = (1545, 1986)
COLLAGE_HEADS = ((250, (40, 40)), (250, (700, 40)), (250, (40, 760)), (250, (700, 760)), (180, (1380, 60)),
                 (120, (1450, 1270)), (135, (1700, 1250)))
SMALL_HEADS = 2  # the last two


def collage() -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    image = np.full((*COLLAGE_SIZE, 3), 128, np.uint8)
    faces = []
    for face_px, (x, y) in COLLAGE_HEADS:
        tile, (bx, by, bw, bh) = head(face_px)
        image[y : y + tile.shape[0], x : x + tile.shape[1]] = tile
        faces.append((x + bx, y + by, bw, bh))
    return image, faces


def detect_as_the_photo_page(det: FaceDetector, image: np.ndarray) -> list[Detection]:
    """The Photo page's detection: FaceAnalyzer.detect (downscaled to MAX_DETECT_SIDE, boxes
    mapped back); it never touches the classifier."""
    return FaceAnalyzer(det, classifier=None).detect(image)  # type: ignore[arg-type]


# --- the registry --------------------------------------------------------------------------


def test_default_is_first_and_every_name_is_described() -> None:
    assert DETECTOR_NAMES[0] == DEFAULT_DETECTOR
    assert len(set(DETECTOR_NAMES)) == len(DETECTOR_NAMES)
    assert set(DETECTOR_DESCRIPTIONS) == set(DETECTOR_NAMES)


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_every_detector_is_created_and_follows_the_protocol(name: str) -> None:
    made = detector(name)
    assert isinstance(made, FaceDetector)
    assert made.name == name
    assert 0.0 <= made.min_score < 1.0


def test_unknown_detector_name_is_a_value_error_listing_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown face detector 'mtcnn'") as err:
        create_detector("mtcnn")
    assert DEFAULT_DETECTOR in str(err.value)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.2, 1.5])
def test_blazeface_rejects_a_threshold_outside_zero_one(bad: float) -> None:
    with pytest.raises(ValueError, match="min_score"):
        create_detector("blazeface", min_score=bad)


def test_unknown_blazeface_model_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown BlazeFace model"):
        blazeface.BlazeFaceDetector(("medium",))


# --- real faces -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_astronaut_face_found_exactly_once(name: str) -> None:
    faces = detector(name).detect(astronaut())
    assert len(faces) == 1
    face = faces[0]
    assert isinstance(face, Detection)
    assert iou(face.box, ASTRONAUT_FACE) > 0.5
    assert 0.0 < face.score <= 1.0


@pytest.mark.parametrize("name", BLAZEFACE_NAMES)
def test_blazeface_landmarks_sit_on_the_face(name: str) -> None:
    (face,) = detector(name).detect(astronaut())
    assert face.landmarks is not None and face.landmarks.shape == (6, 2)
    right_eye, left_eye, nose, mouth = face.landmarks[:4]
    x, y, w, h = face.box
    for px, py in (right_eye, left_eye, nose, mouth):
        assert x <= px <= x + w and y <= py <= y + h
    # the subject's right eye is on the image's left; eyes above the nose, nose above the mouth
    assert right_eye[0] < left_eye[0]
    assert max(right_eye[1], left_eye[1]) < nose[1] < mouth[1]


def test_haar_gives_no_landmarks() -> None:
    (face,) = detector("haar").detect(astronaut())
    assert face.landmarks is None


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_group_of_six_faces_all_found(name: str) -> None:
    frame, faces = group_photo()
    found = detector(name).detect(frame)
    assert len(found) == 6
    for face in faces:
        assert max(iou(d.box, face) for d in found) >= 0.4, face
    scores = [d.score for d in found]
    assert scores == sorted(scores, reverse=True)  # best first


@pytest.mark.parametrize("degrees", [25, -25])
def test_default_finds_a_face_rolled_25_degrees(degrees: int) -> None:
    cx, cy = centre(ASTRONAUT_FACE)
    matrix = cv2.getRotationMatrix2D((cx, cy), degrees, 1.0)
    rolled = cv2.warpAffine(astronaut(), matrix, (512, 512))
    faces = detector(DEFAULT_DETECTOR).detect(rolled)
    assert len(faces) == 1
    fx, fy = centre(faces[0].box)
    assert abs(fx - cx) < 25 and abs(fy - cy) < 25


def test_haar_misses_the_same_rolled_face() -> None:
    """Why Haar is not the default: frontal, upright faces only."""
    cx, cy = centre(ASTRONAUT_FACE)
    rolled = cv2.warpAffine(astronaut(), cv2.getRotationMatrix2D((cx, cy), 25, 1.0), (512, 512))
    assert detector("haar").detect(rolled) == []


def test_default_finds_a_40_px_face_in_a_webcam_frame() -> None:
    frame, face = scaled_astronaut(40, (480, 640), (200, 300))
    found = detector(DEFAULT_DETECTOR).detect(frame)
    assert len(found) == 1
    assert iou(found[0].box, face) >= 0.4


@pytest.mark.parametrize("name", ["blazeface-tiled", "blazeface"])
def test_tiles_and_the_second_look_find_a_small_face_in_a_big_photo_that_one_pass_misses(name: str) -> None:
    photo, face = scaled_astronaut(64, (960, 1280), (300, 300))
    assert blazeface.BlazeFaceDetector(DEFAULT_THRESHOLDS).detect(photo) == []  # one pass, no second look
    found = detector(name).detect(photo)
    assert len(found) == 1
    assert iou(found[0].box, face) >= 0.4


@pytest.mark.parametrize("name", ["blazeface", "blazeface-tiled"])
def test_small_faces_at_the_bottom_right_of_a_big_collage_are_found(name: str) -> None:
    """Issue 25: in a 1986x1545 collage the model, which sees the whole image at 192 px, gets
    11-13 px for a 120-135 px face and scores it under its 0.5 threshold; the second look (a
    zoomed crop around each such weak, small candidate) finds both."""
    image, faces = collage()
    found = detect_as_the_photo_page(detector(name), image)
    assert len(found) == len(faces)
    for face in faces:
        assert max(iou(d.box, face) for d in found) >= 0.4, face


def test_without_the_second_look_the_small_collage_faces_are_missed() -> None:
    """What the second look fixes: the same detector without it misses exactly the two small faces."""
    image, faces = collage()
    plain = blazeface.BlazeFaceDetector(DEFAULT_THRESHOLDS)
    found = detect_as_the_photo_page(plain, image)
    hit = [max((iou(d.box, face) for d in found), default=0.0) >= 0.4 for face in faces]
    assert hit == [True] * (len(faces) - SMALL_HEADS) + [False] * SMALL_HEADS


def _count_model_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    runs = [0]
    real = blazeface._Model.run

    def counting(self, rgb, min_score):  # type: ignore[no-untyped-def]
        runs[0] += 1
        return real(self, rgb, min_score)

    monkeypatch.setattr(blazeface._Model, "run", counting)
    return runs


def test_second_look_costs_nothing_on_ordinary_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    """A face the model sees well, and no-face images, leave no weak small candidate to look at:
    two model runs (full and short range), as before the second look."""
    runs = _count_model_runs(monkeypatch)
    frame, _ = scaled_astronaut(60, (480, 640), (100, 200))
    for image in [astronaut(), frame] + [image for _, image in _no_face_images()]:
        runs[0] = 0
        detector(DEFAULT_DETECTOR).detect(image)
        assert runs[0] == 2


def test_second_looks_per_image_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _count_model_runs(monkeypatch)
    image, faces = collage()
    detect_as_the_photo_page(detector(DEFAULT_DETECTOR), image)
    assert runs[0] == 2 + SMALL_HEADS  # one look per small face
    monkeypatch.setattr(blazeface, "SECOND_LOOK_MAX", 1)
    runs[0] = 0
    found = detect_as_the_photo_page(detector(DEFAULT_DETECTOR), image)
    assert runs[0] == 3
    assert len(found) == len(faces) - 1


def test_stream_frames_skip_the_second_look_photos_keep_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A video or webcam frame pays the detector's frame pass only (two model runs, whatever it
    holds): the second look would cost a stream every frame. The same image as a photo gets it."""
    from fer_core.pipeline import StreamAnalyzer

    runs = _count_model_runs(monkeypatch)
    image, faces = collage()
    analyzer = FaceAnalyzer(detector(DEFAULT_DETECTOR), classifier=None)  # type: ignore[arg-type]
    assert len(analyzer.detect(image, stream_frame=True)) == len(faces) - SMALL_HEADS and runs[0] == 2
    runs[0] = 0
    assert len(analyzer.detect(image)) == len(faces) and runs[0] == 2 + SMALL_HEADS
    runs[0] = 0
    stream = StreamAnalyzer(analyzer)
    monkeypatch.setattr(analyzer, "classify", lambda img, boxes, landmarks=None: np.full((len(boxes), 7), 1 / 7))
    assert len(stream.update(image)) == len(faces) - SMALL_HEADS and runs[0] == 2


@pytest.mark.parametrize("name", BLAZEFACE_NAMES)
def test_face_cut_by_the_border_gets_a_box_inside_the_image(name: str) -> None:
    cut = np.ascontiguousarray(astronaut()[:, 200:])  # the left of the face is cut off
    (face,) = detector(name).detect(cut)
    x, y, w, h = face.box
    assert x == 0 and w > 30
    assert y >= 0 and x + w <= cut.shape[1] and y + h <= cut.shape[0]


# --- input forms ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_grey_input_finds_the_face(name: str) -> None:
    grey = cv2.cvtColor(astronaut(), cv2.COLOR_RGB2GRAY)
    for image in (grey, grey[:, :, None]):
        faces = detector(name).detect(image)
        assert len(faces) == 1
        assert iou(faces[0].box, ASTRONAUT_FACE) > 0.5


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_rgba_input_gives_the_same_box_as_rgb(name: str) -> None:
    rgba = np.dstack([astronaut(), np.full(astronaut().shape[:2], 255, np.uint8)])
    assert [d.box for d in detector(name).detect(rgba)] == [d.box for d in detector(name).detect(astronaut())]


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_non_contiguous_input_is_accepted(name: str) -> None:
    mirrored = astronaut()[:, ::-1]  # a view with a negative stride
    faces = detector(name).detect(mirrored)
    assert len(faces) == 1
    x, _, _w, _ = faces[0].box
    mx = 512 - ASTRONAUT_FACE[0] - ASTRONAUT_FACE[2]
    assert abs(x - mx) < 20


def _no_face_images() -> Iterator[tuple[str, np.ndarray]]:
    from skimage import data

    yield "coffee", data.coffee()
    yield "chelsea the cat", data.chelsea()
    yield "rocket", data.rocket()
    yield "noise", np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    yield "black", np.zeros((480, 640, 3), np.uint8)
    yield "white", np.full((480, 640), 255, np.uint8)


@pytest.mark.parametrize("name", DETECTOR_NAMES)
def test_no_face_images_give_no_detections(name: str) -> None:
    for label, image in _no_face_images():
        assert detector(name).detect(image) == [], label


def test_smallest_allowed_image_runs_and_finds_nothing() -> None:
    for name in DETECTOR_NAMES:
        assert detector(name).detect(np.zeros((MIN_IMAGE_SIDE, MIN_IMAGE_SIDE, 3), np.uint8)) == []


def test_min_score_override_filters_detections() -> None:
    (face,) = detector("blazeface").detect(astronaut())
    strict = create_detector("blazeface", min_score=min(0.99, face.score + 0.02))
    assert strict.detect(astronaut()) == []
    loose = create_detector("blazeface", min_score=0.3)
    assert loose.min_score == pytest.approx(0.3)
    found = loose.detect(astronaut())
    assert found and all(d.score >= 0.3 for d in found)


# --- bad input --------------------------------------------------------------------------------

BAD_IMAGES = [
    pytest.param(np.zeros((0, 0), np.uint8), "too small", id="empty"),
    pytest.param(np.zeros((0, 640, 3), np.uint8), "too small", id="no-rows"),
    pytest.param(np.zeros((5, 5, 3), np.uint8), "too small", id="tiny"),
    pytest.param(np.zeros((64, 64, 3), np.float32), "uint8", id="float32"),
    pytest.param(np.zeros((64, 64), np.uint16), "uint8", id="uint16"),
    pytest.param(np.zeros((64, 64), bool), "uint8", id="bool"),
    pytest.param(np.zeros((64, 64, 2), np.uint8), "shape", id="two-channels"),
    pytest.param(np.zeros((2, 64, 64, 3), np.uint8), "shape", id="a-batch"),
    pytest.param(np.zeros(64, np.uint8), "shape", id="1d"),
]


@pytest.mark.parametrize("name", ["blazeface", "blazeface-tiled", "haar"])
@pytest.mark.parametrize(("image", "message"), BAD_IMAGES)
def test_bad_image_is_a_clear_value_error(name: str, image: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        detector(name).detect(image)


@pytest.mark.parametrize("name", ["blazeface", "haar"])
def test_non_array_input_is_a_type_error(name: str) -> None:
    with pytest.raises(TypeError, match="numpy image array"):
        detector(name).detect([[0, 1], [2, 3]])  # type: ignore[arg-type]


# --- unavailable detectors ---------------------------------------------------------------------


def test_haar_on_an_opencv_without_cascades_says_which_opencv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(cv2, "CascadeClassifier")  # as on OpenCV 5
    with pytest.raises(DetectorUnavailableError, match=r"cv2\.CascadeClassifier.*opencv-python-headless>=4\.8,<5"):
        create_detector("haar")


def test_haar_with_the_cascade_file_gone_says_to_reinstall(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(haar, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(DetectorUnavailableError, match=r"missing.*reinstall"):
        create_detector("haar")


def test_haar_with_an_unreadable_cascade(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / haar.CASCADE_FILE).write_text("<not a cascade/>")
    monkeypatch.setattr(haar, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(DetectorUnavailableError, match="could not load"):
        create_detector("haar")


@pytest.mark.parametrize("name", BLAZEFACE_NAMES)
def test_blazeface_with_a_model_file_gone_says_to_reinstall(monkeypatch: pytest.MonkeyPatch, tmp_path,
                                                            name: str) -> None:
    monkeypatch.setattr(blazeface, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(DetectorUnavailableError, match=r"missing.*reinstall"):
        create_detector(name)


def test_the_shipped_detector_weights_are_the_files_their_readme_names() -> None:
    """Provenance and licence live in weights/README.md; the digests there must be these files'."""
    folder = blazeface.WEIGHTS_DIR
    readme = (folder / "README.md").read_text(encoding="utf-8")
    listed = dict(line.split()[::-1] for line in readme.splitlines() if re.fullmatch(r"[0-9a-f]{64}  \S+", line))
    shipped = {p.name for p in folder.iterdir() if p.suffix in (".tflite", ".xml")}
    assert set(listed) == shipped == {blazeface.SHORT_RANGE.file, blazeface.FULL_RANGE.file, haar.CASCADE_FILE}
    for name, digest in listed.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert (folder / "LICENSE-Apache-2.0.txt").read_text(encoding="utf-8").lstrip().startswith("Apache License")
    assert "Intel License Agreement" in (folder / haar.CASCADE_FILE).read_text(encoding="utf-8")[:2000]


def test_blazeface_without_litert_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)  # import now fails
    with pytest.raises(DetectorUnavailableError, match="pip install ai-edge-litert"):
        create_detector("blazeface")


# --- BlazeFace decoding pieces ---------------------------------------------------------------


@pytest.mark.parametrize(("spec", "count"), [(blazeface.SHORT_RANGE, 896), (blazeface.FULL_RANGE, 2304)])
def test_anchor_count_matches_the_models_output(spec: blazeface.ModelSpec, count: int) -> None:
    anchors = blazeface.ssd_anchor_centres(spec)
    assert anchors.shape == (count, 2)
    assert anchors.min() > 0.0 and anchors.max() < 1.0


def test_weighted_nms_merges_overlaps_and_keeps_separate_boxes() -> None:
    boxes = np.array([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [50.0, 50.0, 60.0, 60.0]], np.float32)
    points = np.zeros((3, 6, 2), np.float32)
    scores = np.array([0.9, 0.6, 0.7], np.float32)
    merged = blazeface.weighted_nms(boxes, points, scores)
    assert [round(s, 2) for _, _, s in merged] == [0.9, 0.7]
    first_box = merged[0][0]
    assert first_box[0] == pytest.approx((0.0 * 0.9 + 1.0 * 0.6) / 1.5)  # score-weighted mean


def test_tiles_cover_the_image_and_overlap() -> None:
    tiles = blazeface.tile_origins(640, 480)
    assert len(tiles) == 4
    covered = np.zeros((480, 640), bool)
    for x, y, w, h in tiles:
        covered[y : y + h, x : x + w] = True
    assert covered.all()
    assert tiles[1][0] < tiles[0][2] and tiles[2][1] < tiles[0][3]  # neighbours overlap in x and y


def test_a_box_at_a_tiles_cut_edge_is_dropped() -> None:
    tile = (0, 0, 384, 288)  # the top-left tile of a 640x480 image: cut on the right and bottom
    inside = [[10.0, 10.0], [60.0, 60.0]]
    at_cut_edge = [[340.0, 10.0], [384.0, 60.0]]
    at_image_edge = [[0.0, 0.0], [40.0, 40.0]]
    keep = blazeface._inside_tile(np.array([inside, at_cut_edge, at_image_edge], np.float32), tile, 640, 480)
    assert keep.tolist() == [True, False, True]
