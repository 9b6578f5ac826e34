"""Generative model families: networks bound to their pure losses."""
