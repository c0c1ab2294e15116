"""Entropy and mutual-information estimators, every (code, factor) pair in one call.

numpy and torch back ends run the same algorithms; torch tensors stay on their device.
Units: nats.
"""

from disbench.estimators.discretize import STRATEGIES as DISCRETIZERS
from disbench.estimators.discretize import discretize
from disbench.estimators.information import (
    ENTROPY_ESTIMATORS,
    ESTIMATORS,
    NORMALIZATIONS,
    entropy,
    mutual_information,
)

__all__ = [
    "DISCRETIZERS",
    "ENTROPY_ESTIMATORS",
    "ESTIMATORS",
    "NORMALIZATIONS",
    "discretize",
    "entropy",
    "mutual_information",
]
