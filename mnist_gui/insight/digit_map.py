"""A map of the digits: the last hidden layer of a few thousand test images, seen along its first two
principal components.

The last hidden layer is what the output layer reads, so if the network has learnt, images of one
digit sit together there; projected onto the two directions along which the activations vary most
(PCA), the clusters become visible on a plane. t-SNE or UMAP separate clusters better, but t-SNE is
O(N^2) per iteration for hundreds of iterations (seconds to minutes in NumPy for 2,000 points, far
beyond "updates each epoch") and UMAP is a dependency we do not take; PCA takes milliseconds.

The two principal axes come from a randomized SVD (a few BLAS products; an exact ``eigh`` of a
1024x1024 covariance costs about a second). Their signs are arbitrary, so each
new map is flipped to agree with the previous one: the clusters stay put from epoch to epoch
instead of jumping to the mirror image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_gui.digits import CLASSES, PIXELS
from mnist_gui.model import Model
from mnist_gui.nn import ACTIVATIONS
from mnist_gui.training.events import read_only

#: Images per digit on the map (10 digits: 2,000 points).
PER_DIGIT = 200


def sample_indices(labels: np.ndarray, per_digit: int = PER_DIGIT, seed: int = 0) -> np.ndarray:
    """A seeded sample of up to ``per_digit`` images of each digit, sorted (int64 indices)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    picked = [rng.permutation(np.flatnonzero(labels == d))[:per_digit] for d in range(CLASSES)]
    return np.sort(np.concatenate(picked)).astype(np.int64)


def last_hidden(model: Model, images: np.ndarray, chunk: int = 1000, blas: bool = True) -> np.ndarray:
    """(N, H) float32: the last hidden layer's activations (after its activation function) for uint8
    images, through the stateless pass (safe while another thread uses the model)."""
    network = model.network
    layers = network.layers
    last = max((i for i, layer in enumerate(layers) if isinstance(layer, tuple(ACTIVATIONS.values()))), default=None)
    if last is None:
        raise ValueError("this network has no hidden layer to map")
    images = np.asarray(images).reshape(-1, PIXELS)
    out = None
    for start in range(0, images.shape[0], chunk):
        x = model.encode(images[start:start + chunk])
        for layer in layers[:last + 1]:
            x = layer.infer(x, blas)
        if out is None:
            out = np.empty((images.shape[0], x.shape[1]), np.float32)
        out[start:start + chunk] = x
    return out if out is not None else np.zeros((0, 0), np.float32)


@dataclass(frozen=True, eq=False)
class Projection:
    """Centre and two unit axes in hidden space; ``explained`` is each axis's share of the variance."""

    mean: np.ndarray      # (H,)
    axes: np.ndarray      # (2, H), orthonormal rows
    explained: np.ndarray  # (2,)

    def project(self, features: np.ndarray) -> np.ndarray:
        """(N, H) or (H,) activations -> (N, 2) or (2,) coordinates."""
        f = np.asarray(features, np.float32)
        return (f - self.mean) @ self.axes.T


def principal_axes(features: np.ndarray, k: int = 2, reference: Projection | None = None,
                   power_iterations: int = 6, oversampling: int = 10, seed: int = 0) -> Projection:
    """The ``k`` leading principal axes of ``features`` (N, H), with signs agreeing with ``reference``.

    Randomized SVD (Halko, Martinsson and Tropp): a seeded random block of ``k + oversampling``
    directions, sharpened by ``power_iterations`` passes through the centred data, spans the leading
    axes; an exact SVD of the data projected on it gives them. A handful of BLAS products: about
    20 ms for 2,000 x 1,024, where an exact eigendecomposition of the covariance takes a second.
    """
    # float32 products: a map needs three correct digits, not seven, and they are twice as fast.
    x = np.asarray(features, np.float32)
    n, h = x.shape
    mean = x.mean(axis=0, dtype=np.float64).astype(np.float32)
    centred = x - mean
    block = min(h, n, k + oversampling)
    q, _ = np.linalg.qr(centred @ np.random.default_rng(seed).standard_normal((h, block)).astype(np.float32))
    for _ in range(power_iterations):
        q, _ = np.linalg.qr(centred @ (centred.T @ q))
    _, singular, vt = np.linalg.svd((q.T @ centred).astype(np.float64), full_matrices=False)
    axes = vt[:k].copy()
    if reference is not None and reference.axes.shape == axes.shape:
        signs = np.where(np.sum(axes * reference.axes, axis=1) < 0, -1.0, 1.0)
    else:   # without a reference, a stable convention: each axis's largest component is positive
        signs = np.sign(axes[np.arange(len(axes)), np.argmax(np.abs(axes), axis=1)])
        signs[signs == 0] = 1.0
    axes *= signs[:, None]
    total = float(np.einsum("ij,ij->", centred, centred, dtype=np.float64))
    explained = singular[:k] ** 2 / total if total > 0 else np.zeros(len(axes))
    return Projection(read_only(mean), read_only(axes.astype(np.float32)),
                      read_only(explained.astype(np.float64)))


@dataclass(frozen=True, eq=False)
class DigitMap:
    """Points on the map: ``indices`` into the image set, their ``labels``, ``predicted`` digits and
    ``points`` (N, 2) float32, with the ``projection`` that placed them (for the drawing's marker)."""

    indices: np.ndarray
    labels: np.ndarray
    predicted: np.ndarray
    points: np.ndarray
    projection: Projection
    hidden_units: int


def map_digits(model: Model, images: np.ndarray, labels: np.ndarray, indices: np.ndarray | None = None,
               reference: Projection | None = None) -> DigitMap:
    """The map of ``images[indices]`` (default: :func:`sample_indices` of ``labels``) through ``model``."""
    indices = sample_indices(labels) if indices is None else np.asarray(indices, np.int64)
    features = last_hidden(model, np.asarray(images)[indices])
    projection = principal_axes(features, reference=reference)
    # The output layer (the last Dense) reads the last hidden layer: the predictions come for free.
    # (only dropout, the identity at inference, may sit between the two).
    logits = model.network.dense_layers[-1].infer(features.astype(model.network.dtype, copy=False))
    return DigitMap(read_only(indices), read_only(np.asarray(labels)[indices]),
                    read_only(np.argmax(logits, axis=1).astype(np.uint8)),
                    read_only(projection.project(features).astype(np.float32)), projection, int(features.shape[1]))
