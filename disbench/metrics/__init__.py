"""Disentanglement metrics, one module per metric family, and their registry."""
