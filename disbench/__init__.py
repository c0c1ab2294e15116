"""disbench: disentanglement metrics for trained representation-learning models.

The public API grows with the data path of DESIGN.md; today it holds the information
estimators (``disbench.estimators``) that every information metric stands on.
"""

from importlib.metadata import PackageNotFoundError, version

from disbench import estimators

try:
    __version__ = version("disbench")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "estimators"]
