"""Batches (SPEC Part 3): many variants of one workbook, in process or on dask.distributed workers."""

from model.batch.run import run_batch
from model.batch.variants import RunSummary, Variant

__all__ = ["RunSummary", "Variant", "run_batch"]
