"""Learning-rate schedules: a function of the step number, evaluated once per batch.

* ``constant``: the base rate throughout.
* ``step``: multiplied by ``gamma`` (0.1) at fixed fractions of training (1/2 and 3/4 of the steps).
* ``cosine``: a short linear warm-up (2% of the steps), then half a cosine from the base rate
  down to 1% of it; a gentle anneal that reliably buys the last fraction of a percent.
"""

from __future__ import annotations

import math
from typing import Callable

SCHEDULES = ("constant", "step", "cosine")


def make_schedule(name: str, base_lr: float, total_steps: int, gamma: float = 0.1) -> Callable[[int], float]:
    total = max(1, int(total_steps))
    if name == "constant":
        return lambda step: base_lr
    if name == "step":
        m1, m2 = total // 2, (3 * total) // 4

        def step_lr(step: int) -> float:
            return base_lr * (gamma ** ((step >= m1) + (step >= m2)))

        return step_lr
    if name == "cosine":
        warm = max(1, total // 50)
        floor = 0.01 * base_lr

        def cosine_lr(step: int) -> float:
            if step < warm:
                return base_lr * (step + 1) / warm
            t = min(1.0, (step - warm) / max(1, total - warm))
            return floor + (base_lr - floor) * 0.5 * (1.0 + math.cos(math.pi * t))

        return cosine_lr
    raise ValueError(f"unknown schedule {name!r} (choose from {', '.join(SCHEDULES)})")
