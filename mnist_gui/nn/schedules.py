"""Learning-rate schedules: a function of the step number, evaluated once per batch.

* ``constant``: the base rate throughout.
* ``step``: multiplied by ``gamma`` (0.1) at fixed fractions of training (1/2 and 3/4 of the steps).
* ``cosine``: a short linear warm-up (2% of the steps), then half a cosine from the base rate
  down to 1% of it; a gentle anneal that reliably buys the last fraction of a percent.
"""

from __future__ import annotations

import math
from typing import Callable

Schedule = Callable[[int], float]


def constant(base_lr: float, total_steps: int, gamma: float = 0.1) -> Schedule:
    return lambda step: base_lr


def step(base_lr: float, total_steps: int, gamma: float = 0.1) -> Schedule:
    m1, m2 = total_steps // 2, (3 * total_steps) // 4

    def step_lr(i: int) -> float:
        return base_lr * (gamma ** ((i >= m1) + (i >= m2)))

    return step_lr


def cosine(base_lr: float, total_steps: int, gamma: float = 0.1) -> Schedule:
    warm = max(1, total_steps // 50)
    floor = 0.01 * base_lr

    def cosine_lr(i: int) -> float:
        if i < warm:
            return base_lr * (i + 1) / warm
        t = min(1.0, (i - warm) / max(1, total_steps - warm))
        return floor + (base_lr - floor) * 0.5 * (1.0 + math.cos(math.pi * t))

    return cosine_lr


#: name -> factory(base_lr, total_steps, gamma) returning the schedule.
SCHEDULES: dict[str, Callable[..., Schedule]] = {"constant": constant, "step": step, "cosine": cosine}


def make_schedule(name: str, base_lr: float, total_steps: int, gamma: float = 0.1) -> Schedule:
    try:
        factory = SCHEDULES[name]
    except KeyError:
        raise ValueError(f"unknown schedule {name!r} (choose from {', '.join(SCHEDULES)})") from None
    return factory(base_lr, max(1, int(total_steps)), gamma)
