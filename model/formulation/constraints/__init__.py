"""Constraint families of the LP, one module per concern.

Each ``define_*`` function adds one family to the model from term lists
built in one pass over the variables; each docstring states its equation.
"""
