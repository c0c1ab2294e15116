"""Result records, the store, comparison tables and plots (DESIGN.md, "Results").

``load(store)`` reads a store into a tidy DataFrame (one row per score); ``compare`` pivots
it into the DataFrames behind a comparison table and ``format_table`` writes that as text,
Markdown, LaTeX, CSV or HTML; ``disbench.results.plots`` draws the figures.
"""

from disbench.results.dlib_import import import_dlib
from disbench.results.frame import (
    SkippedRecordWarning,
    failures,
    find_records,
    load,
    load_with_failures,
)
from disbench.results.record import SCHEMA_VERSION, make_record, record_key
from disbench.results.store import Store, StoreError, default_store
from disbench.results.tables import (
    Comparison,
    compare,
    format_table,
    rank_correlation,
    select,
    summarize,
)

__all__ = [
    "SCHEMA_VERSION",
    "Comparison",
    "SkippedRecordWarning",
    "Store",
    "StoreError",
    "compare",
    "default_store",
    "failures",
    "find_records",
    "format_table",
    "import_dlib",
    "load",
    "load_with_failures",
    "make_record",
    "rank_correlation",
    "record_key",
    "select",
    "summarize",
]
