"""Model files and callables turned into an ``Encoder`` (DESIGN.md, "Adapters")."""
