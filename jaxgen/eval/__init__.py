"""Evaluation: dataset-level averages of per-example metrics, image grids."""
