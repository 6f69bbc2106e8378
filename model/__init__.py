"""Least-cost rare-earth sourcing for the US and Japan under caps on China exposure."""

__version__ = "0.1.0"
