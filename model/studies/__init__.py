"""Studies over many runs of one case (SPEC Part 3).

* :mod:`model.studies.frontier`: the cost–exposure frontier (``--frontier``),
* :mod:`model.studies.uncertainty`: Monte Carlo over the ``uncertainty`` sheet (``--samples``),
* :mod:`model.studies.stochastic`: the two-stage choice against disruption (``--stochastic``),
* :mod:`model.studies.attach`: the frontier and Monte Carlo sheets added to a normal run's results.

Every study is a list of variants of the input workbook (an exposure cap,
scaled columns), each solved exactly as a normal run would solve it, and
tabulated from plain-data summaries, so that the variants can go to worker
processes (:func:`model.batch.run_batch`) and the results do not depend on where they ran.
"""
