"""Ground-truth-factor data sets: factors in, observations out (DESIGN.md, "Data sets")."""
