"""Husky vs wolf, made runnable offline: a procedurally drawn, seeded dataset and a small CNN.

Introduced in ``notebooks/08_husky_vs_wolf.ipynb``. It re-creates the experiment of the
paper's Figure 11: in the training data every wolf stands on snow and every husky on grass,
so a classifier can score well by looking at the background only. LIME shows it does.

Animals are drawn as simple shapes: both have the same body, head and ears; a husky is
darker gray with a light face, a wolf is brown-gray. Backgrounds are textured snow (near
white) or grass (green). Every random choice comes from the given ``random_state``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .validation import check_random_state

__all__ = [
    "CLASS_NAMES",
    "HuskyWolfData",
    "background_share",
    "draw_scene",
    "husky_wolf_dataset",
    "train_husky_wolf_cnn",
]

CLASS_NAMES = ("husky", "wolf")


@dataclass(frozen=True)
class HuskyWolfData:
    """A scene dataset: images, labels, backgrounds and where the animal is.

    Belongs with ``notebooks/08_husky_vs_wolf.ipynb``, which reads the fields of
    :func:`husky_wolf_dataset`'s result without naming the class.

    Attributes
    ----------
    images
        ``(N, H, W, 3)`` uint8 scenes.
    labels
        ``(N,)`` 0 for a husky, 1 for a wolf (the index into :data:`CLASS_NAMES`).
    backgrounds
        ``(N,)`` 0 for grass, 1 for snow.
    animal
        ``(N, H, W)`` bool, the animal's pixels.
    """

    images: np.ndarray
    labels: np.ndarray
    backgrounds: np.ndarray
    animal: np.ndarray


def _background(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    noise = rng.normal(0.0, 1.0, size=(size, size, 1))
    if kind == "snow":
        base = np.array([238.0, 242.0, 250.0]) + rng.normal(0, 4, 3)
        image = base + 8.0 * noise
    elif kind == "grass":
        base = np.array([70.0, 140.0, 50.0]) + rng.normal(0, 8, 3)
        stripes = 15.0 * np.sin(np.arange(size)[None, :, None] * rng.uniform(0.8, 1.6))
        image = base + 18.0 * noise + stripes
    else:
        raise ValueError(f"background must be 'snow' or 'grass', got {kind!r}.")
    return image


def draw_scene(
    animal: str, background: str, *, size: int = 64, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one scene; returns the ``(size, size, 3)`` uint8 image and the animal's mask.

    Introduced in ``notebooks/08_husky_vs_wolf.ipynb``.

    Parameters
    ----------
    animal
        ``"husky"`` or ``"wolf"``.
    background
        ``"grass"`` or ``"snow"``.
    size
        Side of the square image, in pixels (the shapes are drawn for 64 and scaled).
    random_state
        Seed of the textures, colours and the animal's position.

    Returns
    -------
    image, mask
        ``(size, size, 3)`` uint8 and ``(size, size)`` bool (the animal's pixels).

    Raises
    ------
    ValueError
        For an unknown animal or background.

    Examples
    --------
    >>> image, mask = draw_scene("wolf", "snow", size=32, random_state=1)
    >>> image.shape, image.dtype, mask.shape, bool(mask.any() and not mask.all())
    ((32, 32, 3), dtype('uint8'), (32, 32), True)
    """
    if animal not in CLASS_NAMES:
        raise ValueError(f"animal must be one of {CLASS_NAMES}, got {animal!r}.")
    rng, _ = check_random_state(random_state)
    image = _background(background, size, rng)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    s = size / 64.0
    cx, cy = size / 2 + rng.uniform(-6, 6) * s, size * 0.58 + rng.uniform(-4, 4) * s
    body = ((xx - cx) / (16 * s)) ** 2 + ((yy - cy) / (9 * s)) ** 2 <= 1
    hx, hy = cx + 14 * s * rng.choice([-1, 1]), cy - 11 * s
    head = (xx - hx) ** 2 + (yy - hy) ** 2 <= (7 * s) ** 2
    ears = np.zeros_like(body)
    for dx in (-4, 4):
        ex, ey = hx + dx * s, hy - 7 * s
        ears |= (np.abs(xx - ex) <= 2.5 * s - (ey - yy) * 0.5) & (yy >= ey - 5 * s) & (yy <= ey)
    legs = np.zeros_like(body)
    for dx in (-10, -4, 4, 10):
        legs |= (np.abs(xx - (cx + dx * s)) <= 1.5 * s) & (yy > cy) & (yy <= cy + 16 * s)
    mask = body | head | ears | legs
    fur = rng.normal(0.0, 1.0, size=(size, size, 1)) * 10.0
    if animal == "husky":
        colour = np.array([95.0, 95.0, 105.0]) + rng.normal(0, 6, 3)
        face = (xx - hx) ** 2 + (yy - hy - 2 * s) ** 2 <= (4 * s) ** 2
    else:
        colour = np.array([120.0, 105.0, 90.0]) + rng.normal(0, 6, 3)
        face = np.zeros_like(mask)
    animal_pixels = colour + fur
    image = np.where(mask[..., None], animal_pixels, image)
    image = np.where(face[..., None], np.array([215.0, 212.0, 208.0]) + fur, image)
    return np.clip(np.round(image), 0, 255).astype(np.uint8), mask


def husky_wolf_dataset(
    n: int, *, random_state: int = 0, size: int = 64, confounded: bool = True
) -> HuskyWolfData:
    """``n`` scenes, half huskies, half wolves.

    Introduced in ``notebooks/08_husky_vs_wolf.ipynb``. With ``confounded`` (the training
    set), every wolf is on snow and every husky on grass; otherwise backgrounds are random.

    Parameters
    ----------
    n
        Number of scenes; an odd ``n`` has one husky more than wolves.
    random_state
        Seed of the labels' order, the backgrounds and each scene.
    size
        Side of each image, in pixels.
    confounded
        Put every wolf on snow and every husky on grass.

    Returns
    -------
    HuskyWolfData

    Examples
    --------
    >>> data = husky_wolf_dataset(6, size=32)
    >>> data.images.shape, sorted(data.labels.tolist())
    ((6, 32, 32, 3), [0, 0, 0, 1, 1, 1])
    >>> bool((data.labels == data.backgrounds).all())  # every wolf on snow
    True
    """
    rng, _ = check_random_state(random_state)
    labels = np.arange(n) % 2
    rng.shuffle(labels)
    if confounded:
        backgrounds = labels.copy()
    else:
        backgrounds = rng.integers(0, 2, size=n)
    seeds = rng.integers(0, 2**31 - 1, size=n)
    images = np.empty((n, size, size, 3), np.uint8)
    animal = np.empty((n, size, size), bool)
    for i in range(n):
        images[i], animal[i] = draw_scene(
            CLASS_NAMES[labels[i]],
            ("grass", "snow")[backgrounds[i]],
            size=size,
            random_state=int(seeds[i]),
        )
    return HuskyWolfData(images, labels, backgrounds, animal)


def train_husky_wolf_cnn(
    data: HuskyWolfData, *, random_state: int = 0, epochs: int = 6, batch_size: int = 32
) -> Any:
    """Train a small Keras CNN on ``data`` (a few seconds on 2 CPU cores).

    Introduced in ``notebooks/08_husky_vs_wolf.ipynb``. Weights are initialised from
    ``random_state`` and the data are visited in a seeded order (``shuffle=False`` in Keras), so the
    same seed trains the same network on the same machine. The model takes uint8-range RGB
    (it rescales inside) and outputs ``(B, 2)`` probabilities for (husky, wolf).

    Parameters
    ----------
    data
        The training set, e.g. ``husky_wolf_dataset(400)``.
    random_state
        Seed of the initial weights and of the order the data are visited in.
    epochs, batch_size
        As for ``keras.Model.fit``.

    Returns
    -------
    keras.Model
        The trained network; :func:`helpers.models.classifier_fn` makes it a
        ``classifier_fn``.

    Examples
    --------
    >>> cnn = train_husky_wolf_cnn(husky_wolf_dataset(400))  # doctest: +SKIP
    >>> cnn.output_shape  # doctest: +SKIP
    (None, 2)
    """
    import keras
    from keras import layers

    size = data.images.shape[1]
    init = [keras.initializers.GlorotUniform(seed=random_state + i) for i in range(4)]
    model = keras.Sequential(
        [
            keras.Input((size, size, 3)),
            layers.Rescaling(1.0 / 255.0),
            layers.Conv2D(8, 3, activation="relu", kernel_initializer=init[0]),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 3, activation="relu", kernel_initializer=init[1]),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 3, activation="relu", kernel_initializer=init[2]),
            layers.GlobalAveragePooling2D(),
            layers.Dense(2, activation="softmax", kernel_initializer=init[3]),
        ],
        name="husky_wolf_cnn",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    order = check_random_state(random_state)[0].permutation(len(data.labels))
    x = data.images[order].astype(np.float32)
    y = data.labels[order]
    model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=0)
    return model


def background_share(coef: np.ndarray, segments: np.ndarray, animal: np.ndarray) -> float:
    """Share of the positive LIME weight that falls on background superpixels.

    Introduced in ``notebooks/08_husky_vs_wolf.ipynb``. A superpixel counts as background
    when more than half of its pixels are not the animal.

    Parameters
    ----------
    coef
        ``(S,)`` an explanation's weights.
    segments
        ``(H, W)`` labels ``0..S-1``.
    animal
        ``(H, W)`` bool, the animal's pixels.

    Returns
    -------
    float
        In [0, 1]: the background superpixels' part of the sum of positive weights.

    Raises
    ------
    ValueError
        If no weight is positive.

    Examples
    --------
    >>> segments = np.array([[0, 0, 1, 1], [0, 0, 1, 1]])
    >>> animal = segments == 0  # superpixel 0 is the animal, 1 the background
    >>> round(background_share(np.array([0.1, 0.3]), segments, animal), 6)
    0.75
    """
    coef = np.asarray(coef, dtype=np.float64)
    labels = np.asarray(segments).ravel()
    counts = np.bincount(labels, minlength=coef.size)
    animal_share = np.bincount(labels, weights=np.asarray(animal).ravel(), minlength=coef.size)
    is_background = animal_share / np.maximum(counts, 1) < 0.5
    positive = np.clip(coef, 0.0, None)
    if positive.sum() == 0:
        raise ValueError("The explanation has no positive weight to share out.")
    return float(positive[is_background].sum() / positive.sum())
