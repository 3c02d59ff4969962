"""Small images, segmentations and cheap deterministic models for the pipeline tests."""

from __future__ import annotations

import numpy as np
from skimage.transform import resize

from helpers import data

_W = np.random.default_rng(2016).normal(size=(12, 6)) * 6.0


def small(name: str, height: int) -> np.ndarray:
    """A registry image downscaled to ``height`` rows, uint8 RGB."""
    image = data.load_image(name)
    width = round(image.shape[1] * height / image.shape[0])
    out = resize(image, (height, width), order=1, anti_aliasing=True, preserve_range=True)
    return np.round(out).astype(np.uint8)


def quadrant_softmax(images: np.ndarray) -> np.ndarray:
    """A fixed 6-class softmax over the mean colour of each image quadrant."""
    x = np.asarray(images, dtype=np.float64)
    if images.dtype == np.uint8:
        x = x / 255.0
    h, w = x.shape[1] // 2, x.shape[2] // 2
    quads = [x[:, :h, :w], x[:, :h, w:], x[:, h:, :w], x[:, h:, w:]]
    feats = np.concatenate([q.mean(axis=(1, 2)) for q in quads], axis=1)
    logits = feats @ _W
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)
