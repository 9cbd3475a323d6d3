"""BlazeFace (MediaPipe's face detector) run through LiteRT, decoded in numpy.

The `.tflite` files ship inside this package (`fer_core/detection/weights/`, Apache 2.0; where
they come from is written next to them), so nothing is downloaded and no extra wheel is needed.

Two models exist: short range (128x128 input, faces filling much of the frame, like a webcam
selfie) and full range (192x192, also small and far faces). The pre- and post-processing follow
MediaPipe's graphs `face_detection_short_range.pbtxt` / `face_detection_full_range.pbtxt` and
`face_detection.pbtxt`: aspect-keeping letterbox to [-1, 1], SSD anchors with fixed size 1,
box/keypoint offsets scaled by the input size, sigmoid scores, weighted non-max suppression
(IoU 0.3), then the letterbox removed again.

Beyond MediaPipe: both models can run on one image with their boxes merged by the same weighted
NMS (full range for small and far faces, short range for faces filling the frame, which full
range scores low), and the full-range model can also run on four overlapping zoomed-in tiles for
small faces in big photos. bench/studies/detectors.py measures what each of these buys and costs.

The second look: the whole image shrunk to 192 px leaves a face a thirteenth to a sixteenth of
the image's longer side 12-15 model pixels, where the full-range model scores real faces 0.2-0.45,
under its 0.5 threshold (the faces at the bottom right of dlib's `bald_guys.jpg` collage, or a
guest at a PASCAL VOC dinner table). Such weak candidates under SECOND_LOOK_MAX_FACE model pixels
that no accepted box covers are run once more through the full-range model on a crop three times
their size, where the face spans a third of the input, and kept when that zoomed pass finds a face
there at the model's own threshold. Each look costs one model run (at most SECOND_LOOK_MAX per
image; most frames have no weak small candidate and cost nothing more).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_core.detection.base import MIN_IMAGE_SIDE, Detection, DetectorUnavailableError, check_image
from fer_core.errors import ConfigError

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
NMS_IOU = 0.3  # MediaPipe's min_suppression_threshold
NUM_KEYPOINTS = 6
_RAW_SCORE_CLIP = 80.0  # MediaPipe clips logits at 100; 80 keeps exp() finite in float32
TILE_FRACTION = 0.6  # each of the 2x2 tiles covers 60% of the image per axis (20% overlap)
TILE_EDGE_MARGIN = 0.02  # a tile's box this close (fraction of the tile) to a cut edge is a half face
# Four zoomed tiles give textures four more chances to look like a face, so their boxes must score
# this much higher than the whole-image pass needs (on the benchmark photo set this removed all
# four tile-only false faces and kept 9 of the 10 faces only the tiles find, LFW crops aside).
TILE_SCORE_MARGIN = 0.1
# The second look (module docstring). Tried on the benchmark photo set (152/167 faces without it)
# and dlib's group photos: floors 0.15-0.25, size limits 20-32 model px and crops 2.5-4x found
# 159-162 faces and 22-24 of bald_guys.jpg's 24, with no new false box there or on 34 more no-face
# images; a 0.25 floor or a 2.5x crop lost faces, a 0.1 floor tripled the looks and fired on a
# no-face photo, and checking the zoomed pass at threshold + 0.1 lost one bald_guys face.
SECOND_LOOK_MIN_SCORE = 0.2  # full-range candidates between this and the threshold are weak
SECOND_LOOK_MAX_FACE = 24.0  # model pixels: weak boxes this big are not faces too small to score
SECOND_LOOK_CONTEXT = 3.0  # the zoomed crop's side, in weak-box sides
SECOND_LOOK_MAX = 8  # looks per image, weakest candidates skipped beyond that
SECOND_LOOK_COVERED_IOU = 0.1  # a weak box overlapping an accepted one this much is that face
SECOND_LOOK_MATCH_IOU = 0.3  # the zoomed pass's box must be the weak box's face, not a neighbour's


@dataclass(frozen=True)
class ModelSpec:
    """One BlazeFace variant and its MediaPipe anchor options."""

    key: str
    file: str
    size: int  # square input side in pixels
    strides: tuple[int, ...]  # one per SSD layer
    interpolated_scale_aspect_ratio: float  # > 0 adds a second anchor per layer and cell
    min_score: float  # score threshold when used alone: MediaPipe's default min_detection_confidence


SHORT_RANGE = ModelSpec("short", "face_detection_short_range.tflite", 128, (8, 16, 16, 16), 1.0, 0.5)
FULL_RANGE = ModelSpec("full", "face_detection_full_range.tflite", 192, (4,), 0.0, 0.5)
MODELS: dict[str, ModelSpec] = {SHORT_RANGE.key: SHORT_RANGE, FULL_RANGE.key: FULL_RANGE}


def ssd_anchor_centres(spec: ModelSpec) -> np.ndarray:
    """(N, 2) float32 anchor centres (x, y) in [0, 1], in the model's output order.

    Mirrors MediaPipe's SsdAnchorsCalculator with aspect_ratios [1.0] and fixed_anchor_size:
    consecutive layers with the same stride share one feature map, and each layer adds one
    anchor per cell, plus one more when interpolated_scale_aspect_ratio > 0. Anchor width and
    height are 1, so only the centres matter for decoding."""
    centres: list[np.ndarray] = []
    strides = spec.strides
    layer = 0
    while layer < len(strides):
        per_cell = 0
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            per_cell += 1 + (1 if spec.interpolated_scale_aspect_ratio > 0.0 else 0)
            last += 1
        cells = int(np.ceil(spec.size / strides[layer]))
        grid = (np.arange(cells, dtype=np.float32) + 0.5) / cells
        ys, xs = np.meshgrid(grid, grid, indexing="ij")  # row-major: y outer, x inner
        cell_centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(cell_centres, per_cell, axis=0))
        layer = last
    return np.concatenate(centres).astype(np.float32)


def decode(raw_boxes: np.ndarray, anchors: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Model regressors (N, 16) -> boxes (N, 4) as x0, y0, x1, y1 and keypoints (N, 6, 2),
    both in [0, 1] letterbox coordinates (reverse_output_order: x before y)."""
    offsets = raw_boxes.reshape(-1, 2 + NUM_KEYPOINTS, 2) / np.float32(size)
    centre = offsets[:, 0] + anchors
    half = offsets[:, 1] / 2.0
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = offsets[:, 2:] + anchors[:, None, :]
    return boxes, keypoints


def sigmoid(logits: np.ndarray) -> np.ndarray:
    clipped = np.clip(logits.astype(np.float32), -_RAW_SCORE_CLIP, _RAW_SCORE_CLIP)
    return 1.0 / (1.0 + np.exp(-clipped))


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one x0, y0, x1, y1 box with each row of `boxes`."""
    ix0 = np.maximum(box[0], boxes[:, 0])
    iy0 = np.maximum(box[1], boxes[:, 1])
    ix1 = np.minimum(box[2], boxes[:, 2])
    iy1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(
    boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, iou_threshold: float = NMS_IOU
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's WEIGHTED non-max suppression: the best remaining box absorbs every box that
    overlaps it by more than `iou_threshold`; the result is their score-weighted mean (boxes and
    keypoints alike) with the best box's score. Best first."""
    order = np.argsort(-scores, kind="stable")
    results: list[tuple[np.ndarray, np.ndarray, float]] = []
    while order.size:
        top = order[0]
        overlap = iou_one_to_many(boxes[top], boxes[order]) > iou_threshold
        overlap[0] = True  # a degenerate top box still absorbs itself
        group = order[overlap]
        weights = scores[group][:, None]
        total = float(weights.sum())
        box = (boxes[group] * weights).sum(axis=0) / total
        points = (keypoints[group] * weights[:, :, None]).sum(axis=0) / total
        results.append((box, points, float(scores[top])))
        order = order[~overlap]
    return results


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the square model input (for mapping back)."""

    scale_x: float  # model pixels per image pixel (per axis: rounding makes them differ slightly)
    scale_y: float
    pad_x: int  # model pixels of padding left of / above the image
    pad_y: int


def letterbox(rgb: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """RGB uint8 -> (1, size, size, 3) float32 in [-1, 1], aspect kept, centred, black padding
    (MediaPipe's keep_aspect_ratio with BORDER_ZERO)."""
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=interp)
    pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
    canvas = np.zeros((size, size, 3), np.uint8)
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
    tensor = canvas.astype(np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0)
    return tensor[None], Letterbox(new_w / w, new_h / h, pad_x, pad_y)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """Grey, RGB or RGBA uint8 -> contiguous RGB uint8 (check_image's errors for anything else)."""
    image = check_image(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_RGBA2RGB)
    return image


def model_path(spec: ModelSpec, folder: Path | None = None) -> Path:
    """The model file shipped in the package; DetectorUnavailableError if the install lost it."""
    folder = folder or WEIGHTS_DIR
    path = folder / spec.file
    if not path.is_file():
        raise DetectorUnavailableError(
            f"{spec.file} is missing from {folder}: this fer_core install is incomplete; reinstall it "
            f"(pip install --force-reinstall fer-core, or restore the file from the repository)"
        )
    return path


class _Model:
    """One LiteRT interpreter plus its anchors. Not thread-safe by itself."""

    def __init__(self, spec: ModelSpec, num_threads: int) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise DetectorUnavailableError("BlazeFace needs LiteRT: pip install ai-edge-litert") from exc
        self.spec = spec
        self.interpreter = Interpreter(model_path=str(model_path(spec)), num_threads=num_threads)
        self.interpreter.allocate_tensors()
        (inp,) = self.interpreter.get_input_details()
        if tuple(inp["shape"]) != (1, spec.size, spec.size, 3):
            raise DetectorUnavailableError(f"{spec.file} has input shape {inp['shape']}, expected {spec.size}")
        self.input_index = inp["index"]
        outputs = self.interpreter.get_output_details()
        # regressors have 16 values per anchor, classificators 1
        by_width = {int(o["shape"][-1]): o["index"] for o in outputs}
        self.boxes_index, self.scores_index = by_width[4 + 2 * NUM_KEYPOINTS], by_width[1]
        self.anchors = ssd_anchor_centres(spec)

    def run(self, rgb: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, Letterbox]:
        """Candidate boxes, keypoints (letterbox [0, 1] coords) and scores above `min_score`."""
        tensor, fit = letterbox(rgb, self.spec.size)
        self.interpreter.set_tensor(self.input_index, tensor)
        self.interpreter.invoke()
        logits = self.interpreter.get_tensor(self.scores_index).reshape(-1)
        # threshold on logits so the sigmoid runs only on the few candidates
        keep = np.flatnonzero(logits > np.log(min_score / (1.0 - min_score)))
        raw = self.interpreter.get_tensor(self.boxes_index).reshape(-1, 4 + 2 * NUM_KEYPOINTS)[keep]
        boxes, keypoints = decode(raw, self.anchors[keep], self.spec.size)
        valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        return boxes[valid], keypoints[valid], sigmoid(logits[keep][valid]), fit


def _to_image_coords(points: np.ndarray, fit: Letterbox, size: int) -> np.ndarray:
    """[0, 1] letterbox x, y (last axis) -> image pixels."""
    out = points.astype(np.float32) * np.float32(size)
    out[..., 0] = (out[..., 0] - fit.pad_x) / fit.scale_x
    out[..., 1] = (out[..., 1] - fit.pad_y) / fit.scale_y
    return out


def tile_origins(width: int, height: int, fraction: float = TILE_FRACTION) -> list[tuple[int, int, int, int]]:
    """A 2x2 grid of overlapping tiles (x, y, w, h), each `fraction` of the image per axis."""
    tw, th = max(1, round(width * fraction)), max(1, round(height * fraction))
    return [(x, y, tw, th) for y in (0, height - th) for x in (0, width - tw)]


def _inside_tile(corners: np.ndarray, tile: tuple[int, int, int, int], width: int, height: int) -> np.ndarray:
    """Which boxes (N, 2, 2 image coords) stay clear of the tile's cut edges. A face cut by a
    tile edge shows only in part there; the whole-image pass (or a neighbouring tile) sees it
    whole, so a tile's box that reaches a cut edge is a half face and is dropped."""
    x, y, tw, th = tile
    margin = TILE_EDGE_MARGIN * min(tw, th)
    keep = np.ones(len(corners), bool)
    if x > 0:
        keep &= corners[:, 0, 0] > x + margin
    if x + tw < width:
        keep &= corners[:, 1, 0] < x + tw - margin
    if y > 0:
        keep &= corners[:, 0, 1] > y + margin
    if y + th < height:
        keep &= corners[:, 1, 1] < y + th - margin
    return keep


class BlazeFaceDetector:
    """MediaPipe BlazeFace.

    `models` maps "short" and/or "full" to each model's score threshold (a tuple of keys uses
    MediaPipe's thresholds); several models are merged by weighted NMS. `tiles=True` also runs
    the full-range model on four overlapping tiles of images larger than the model input, which
    doubles the pixels a small face gets, at about five times the cost. `second_look=True` runs
    the full-range model again on a zoomed crop around each weak, small full-range candidate
    (module docstring); it needs the full-range model among `models`."""

    def __init__(
        self,
        models: Mapping[str, float] | tuple[str, ...] = ("full",),
        *,
        min_score: float | None = None,
        tiles: bool = False,
        second_look: bool = False,
        num_threads: int = 2,
        name: str | None = None,
    ) -> None:
        keys = list(models)
        unknown = [m for m in keys if m not in MODELS]
        if not keys or unknown:
            raise ValueError(f"unknown BlazeFace model(s) {unknown or keys}; choose from {sorted(MODELS)}")
        thresholds = {m: float(models[m]) if isinstance(models, Mapping) else MODELS[m].min_score for m in keys}
        if min_score is not None and not 0.0 < min_score < 1.0:
            raise ConfigError(f"min_score must lie in (0, 1), got {min_score}")
        if any(not 0.0 < t < 1.0 for t in thresholds.values()):
            raise ValueError(f"model score thresholds must lie in (0, 1), got {thresholds}")
        if num_threads < 1:
            raise ValueError(f"num_threads must be >= 1, got {num_threads}")
        if min_score is not None:  # one user threshold for every model
            thresholds = {m: float(min_score) for m in thresholds}
        self._models = [(_Model(MODELS[m], num_threads), t) for m, t in thresholds.items()]
        self._tile_model = None
        if tiles:
            full = next(((mod, t) for mod, t in self._models if mod.spec.key == "full"), None)
            model, threshold = full or (_Model(FULL_RANGE, num_threads), float(min_score or FULL_RANGE.min_score))
            self._tile_model = (model, min(0.99, threshold + TILE_SCORE_MARGIN))
        # the loosest threshold in use: what a caller can expect of the scores returned
        self.min_score = float(min(thresholds.values()))
        self.thresholds = thresholds
        self.tiles = tiles
        self.second_look = second_look and "full" in thresholds
        self.name = name or "blazeface-" + "+".join(thresholds) + ("-tiled" if tiles else "")
        self._lock = threading.Lock()  # one interpreter must not run in two threads at once

    @staticmethod
    def _candidates(model: _Model, rgb: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (N, 2, 2), keypoints (N, 6, 2) in `rgb`'s pixels, and scores (N,)."""
        boxes, points, scores, fit = model.run(rgb, min_score)
        size = model.spec.size
        return _to_image_coords(boxes.reshape(-1, 2, 2), fit, size), _to_image_coords(points, fit, size), scores

    def _second_looks(self, rgb: np.ndarray, model: _Model, threshold: float,
                      weak: tuple[np.ndarray, np.ndarray, np.ndarray],
                      accepted: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Faces confirmed by a zoomed full-range pass around weak, small candidates (image
        coords, as `_candidates` gives them); `accepted` (N, 4) are the boxes already kept."""
        h, w = rgb.shape[:2]
        max_side = SECOND_LOOK_MAX_FACE * max(h, w) / model.spec.size  # in image pixels
        confirmed = []
        looks = 0
        for box, _, _ in weighted_nms(weak[0].reshape(-1, 4), weak[1], weak[2]):  # best first
            side = float(max(box[2] - box[0], box[3] - box[1]))
            if side >= max_side:
                continue
            if len(accepted) and iou_one_to_many(box, accepted).max() > SECOND_LOOK_COVERED_IOU:
                continue
            if looks == SECOND_LOOK_MAX:
                break
            half = SECOND_LOOK_CONTEXT * side / 2.0
            cx, cy = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
            x0, y0 = max(0, int(round(cx - half))), max(0, int(round(cy - half)))
            x1, y1 = min(w, int(round(cx + half))), min(h, int(round(cy + half)))
            if min(x1 - x0, y1 - y0) < MIN_IMAGE_SIDE:
                continue
            looks += 1
            corners, points, scores = self._candidates(model, np.ascontiguousarray(rgb[y0:y1, x0:x1]), threshold)
            offset = np.array([x0, y0], np.float32)
            corners, points = corners + offset, points + offset
            keep = _inside_tile(corners, (x0, y0, x1 - x0, y1 - y0), w, h)
            keep &= iou_one_to_many(box, corners.reshape(-1, 4)) >= SECOND_LOOK_MATCH_IOU
            if keep.any():
                confirmed.append((corners[keep], points[keep], scores[keep]))
        return confirmed

    def detect(self, image: np.ndarray) -> list[Detection]:
        return self._detect(image, self.second_look)

    def detect_frame(self, image: np.ndarray) -> list[Detection]:
        """A frame of a video or webcam stream: no second look. It costs a frame with small
        faces up to SECOND_LOOK_MAX model runs (p95 per 640x480 frame 7.6 -> 32 ms in the
        detectors benchmark), which a stream pays on every frame; its tracker and the next frames
        give a missed face other chances, a photo has one."""
        return self._detect(image, False)

    def _detect(self, image: np.ndarray, second_look: bool) -> list[Detection]:
        rgb = as_rgb(image)
        h, w = rgb.shape[:2]
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        weak: tuple[_Model, float, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        with self._lock:
            for model, threshold in self._models:
                look = second_look and model.spec.key == "full" and threshold > SECOND_LOOK_MIN_SCORE
                corners, points, scores = self._candidates(model, rgb, SECOND_LOOK_MIN_SCORE if look else threshold)
                if look:
                    strong = scores > threshold
                    weak = (model, threshold, (corners[~strong], points[~strong], scores[~strong]))
                    corners, points, scores = corners[strong], points[strong], scores[strong]
                found.append((corners, points, scores))
            if self._tile_model is not None and max(h, w) * TILE_FRACTION > self._tile_model[0].spec.size:
                model, threshold = self._tile_model
                for tile in tile_origins(w, h):
                    x, y, tw, th = tile
                    corners, points, scores = self._candidates(model, np.ascontiguousarray(rgb[y : y + th, x : x + tw]),
                                                               threshold)
                    offset = np.array([x, y], np.float32)
                    corners, points = corners + offset, points + offset
                    keep = _inside_tile(corners, tile, w, h)
                    found.append((corners[keep], points[keep], scores[keep]))
            if weak is not None and len(weak[2][2]):
                accepted = np.concatenate([f[0] for f in found]).reshape(-1, 4)
                found += self._second_looks(rgb, weak[0], weak[1], weak[2], accepted)
        boxes = np.concatenate([f[0] for f in found]).reshape(-1, 4)
        if not len(boxes):
            return []
        merged = weighted_nms(boxes, np.concatenate([f[1] for f in found]), np.concatenate([f[2] for f in found]))
        detections = []
        for box, points, score in merged:
            x0, y0 = max(0, int(round(box[0]))), max(0, int(round(box[1])))
            x1, y1 = min(w, int(round(box[2]))), min(h, int(round(box[3])))
            if x1 - x0 < 2 or y1 - y0 < 2:  # nothing of it left inside the image
                continue
            detections.append(Detection((x0, y0, x1 - x0, y1 - y0), score, points.astype(np.float32)))
        return detections
