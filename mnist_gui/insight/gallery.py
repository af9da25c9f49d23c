"""Which images of an evaluation a gallery shows, and in which order.

A :class:`GalleryFilter` keeps a true digit, a predicted digit and right/wrong (each optional) and
one of the :data:`ORDERS`; :func:`select` turns it into the indices of the images to show, with one
vectorized pass (about a millisecond for 10,000 images), so a filter can change as fast as a user
clicks. "Confidently wrong first" puts the mistakes the network was surest of at the top: those are
the images worth looking at (often a label that is arguably wrong, or a digit drawn like another).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_gui.insight.evaluation import Evaluation

#: Sort orders: key -> what a user reads.
ORDERS = {
    "wrong_first": "confidently wrong first",
    "least_sure": "least sure first",
    "most_sure": "most sure first",
    "index": "order of the set",
}
#: Right / wrong: key -> what a user reads.
CORRECTNESS = {"all": "right and wrong", "wrong": "wrong only", "right": "right only"}


@dataclass(frozen=True)
class GalleryFilter:
    true_digit: int | None = None        # None: any
    predicted_digit: int | None = None   # None: any
    correctness: str = "all"             # a key of CORRECTNESS
    order: str = "wrong_first"           # a key of ORDERS

    def __post_init__(self) -> None:
        for name in ("true_digit", "predicted_digit"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 9:
                raise ValueError(f"{name} must be a digit 0-9 or None, not {value!r}")
        if self.correctness not in CORRECTNESS:
            raise ValueError(f"correctness must be one of {', '.join(CORRECTNESS)}")
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}")

    @classmethod
    def cell(cls, true_digit: int, predicted_digit: int, order: str = "wrong_first") -> "GalleryFilter":
        """Exactly the images of one cell of the confusion matrix."""
        return cls(true_digit, predicted_digit, "all", order)


def select(evaluation: Evaluation, which: GalleryFilter) -> np.ndarray:
    """Indices (int64) into ``evaluation`` of the images ``which`` lets through, in its order."""
    labels, predicted, confidence = evaluation.labels, evaluation.predicted, evaluation.confidence
    keep = np.ones(len(evaluation), bool)
    if which.true_digit is not None:
        keep &= labels == which.true_digit
    if which.predicted_digit is not None:
        keep &= predicted == which.predicted_digit
    if which.correctness != "all":
        keep &= (labels == predicted) == (which.correctness == "right")
    chosen = np.flatnonzero(keep)
    if which.order == "index" or chosen.size < 2:
        return chosen
    sure = confidence[chosen]
    if which.order == "wrong_first":
        right = labels[chosen] == predicted[chosen]
        order = np.lexsort((chosen, -sure, right))     # wrong before right, then surest first
    elif which.order == "least_sure":
        order = np.lexsort((chosen, sure))
    else:
        order = np.lexsort((chosen, -sure))
    return chosen[order]
