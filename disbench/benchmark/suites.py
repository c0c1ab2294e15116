"""Metric suites: gin configurations that name a set of metrics and bind their options.

A suite is gin text — a file in the repository's ``gin/`` folder (``dlib``, ``carbonneau``,
``infomec``, ``local``, ``default``), any ``.gin`` file, plus ``--gin-param`` bindings —
that binds ``suite.metrics`` to a list of registry names and any metric options::

    suite.metrics = ["mig", "sap"]
    mig.num_bins = 20

gin's state is global to the process, so a suite is never left parsed: ``Suite.active()``
replaces gin's bindings by the suite's for the ``with`` block and puts the earlier ones
back on exit. Two jobs with different suites can therefore run one after the other in one
process (or one worker) without one's bindings reaching the other.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import gin

from disbench.metrics import get_metric  # also registers every metric with gin


@gin.configurable("suite", module="disbench")
def _suite(metrics: Sequence[str] | None = None) -> list[str] | None:
    """What gin binds ``suite.metrics`` on: the metric names of the active suite."""
    return None if metrics is None else list(metrics)


def suite_dir() -> Path:
    """The folder of the built-in suites (the repository's ``gin/``, shipped in the wheel)."""
    return Path(str(files("disbench") / "suites"))


def builtin_suites() -> list[str]:
    """The names of the built-in suites."""
    return sorted(path.stem for path in suite_dir().glob("*.gin"))


@dataclass(frozen=True)
class Suite:
    """A metric configuration, parsed into gin only while it is active.

    ``name`` labels the records it produces; ``text`` is the gin text it parses;
    ``metrics`` the names it binds to ``suite.metrics`` (None: every metric).
    """

    name: str
    text: str
    metrics: tuple[str, ...] | None = None

    @contextlib.contextmanager
    def active(self) -> Iterator[Suite]:
        """gin holding this suite alone for the ``with`` block; earlier bindings come back
        after it."""
        with _parsed(self.text):
            yield self


@contextlib.contextmanager
def _parsed(text: str) -> Iterator[None]:
    """gin holding exactly ``text`` for the block; the bindings before it come back after."""
    before = gin.config_str()
    gin.clear_config()
    try:
        gin.parse_config(text)
        yield
    finally:
        gin.clear_config()
        gin.parse_config(before)


def active_metrics() -> list[str] | None:
    """The metric names bound to ``suite.metrics`` in the current gin state, or None."""
    return _suite()


def load_suite(
    sources: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] = (),
    bindings: Sequence[str] = (),
    *,
    name: str | None = None,
) -> Suite:
    """A suite from gin files (paths or built-in names) and extra bindings.

    Parameters
    ----------
    sources : path, name, or a sequence of them
        Each a ``.gin`` file, or the name of a built-in suite (``dlib``, ``default``, ...).
        Later sources override earlier ones, as gin does.
    bindings : sequence of str
        Extra bindings such as ``"mig.num_bins = 10"``, applied last.
    name : str, optional
        The suite's label; default: the stems of its sources joined by ``+`` (``default``
        when there are none), with ``*`` appended when bindings modify it.

    Raises
    ------
    ValueError
        When a source is neither a file nor a built-in suite, or the text does not parse
        (an unknown metric or option names the binding).
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    paths = [_suite_path(source) for source in sources]
    parts = [path.read_text(encoding="utf-8") for path in paths] + list(bindings)
    label = name or "+".join(path.stem for path in paths) or "default"
    if bindings and name is None:
        label += "*"
    text = "\n".join(parts)
    try:  # parsed once here, so that errors surface before any job runs
        with _parsed(text):
            metrics = active_metrics()
    except (ValueError, KeyError, SyntaxError, TypeError) as error:
        raise ValueError(f"the gin configuration {label!r} does not parse: {error}") from None
    for metric in metrics or ():
        get_metric(metric)  # an unknown name: ValueError listing the registered ones
    return Suite(label, text, None if metrics is None else tuple(metrics))


def _suite_path(source: str | os.PathLike[str]) -> Path:
    path = Path(source)
    if path.is_file():
        return path
    builtin = suite_dir() / f"{source}.gin"
    if isinstance(source, str) and os.sep not in source and builtin.is_file():
        return builtin
    raise ValueError(
        f"no gin file {str(source)!r}; give a path or a built-in suite: "
        + ", ".join(builtin_suites())
    )
