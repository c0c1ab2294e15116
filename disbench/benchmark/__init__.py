"""Data sets, sampling plans, extraction, the evaluate pipeline, sweeps and executors."""
