"""The formulation: sparse index sets with named keys, variables, constraints, objective.

:mod:`model.formulation.build` is the table of contents.
"""
