"""Result records, the store, comparison tables and plots (DESIGN.md, "Results")."""

from disbench.results.record import SCHEMA_VERSION, make_record, record_key
from disbench.results.store import Store, StoreError

__all__ = ["SCHEMA_VERSION", "Store", "StoreError", "make_record", "record_key"]
