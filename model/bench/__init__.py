"""The benchmark and its synthetic generators (not on the product's path): ``python -m model.bench``."""
