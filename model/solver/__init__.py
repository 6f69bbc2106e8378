"""Solving: the hand-off of the Pyomo model to HiGHS in memory, the solve, the least-exposure phases."""
