"""Workbooks: the input schema, reading, cross-sheet validation, and writing the results."""
