"""Result records, the store, comparison tables and plots (DESIGN.md, "Results")."""
