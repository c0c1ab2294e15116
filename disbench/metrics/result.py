"""``MetricResult``: what every metric returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class MetricResult:
    """The outcome of one metric on one representation.

    Attributes
    ----------
    name : str
        The metric's registry name, e.g. ``"mig"``.
    scores : dict of str to float
        The named numbers that go into tables (keys fixed per metric, see DESIGN.md).
    arrays : dict of str to ndarray
        Small arrays behind the scores, e.g. ``"mi_matrix"`` (n_codes, n_factors).
    params : dict
        The options the metric ran with, so the number can be reproduced.
    notes : tuple of str
        Facts a reader of the number should know, e.g. a factor skipped for having one value.
    """

    name: str
    scores: dict[str, float]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __getitem__(self, key: str) -> float:
        return self.scores[key]
