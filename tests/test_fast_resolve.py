"""The batch re-solve path made cheaper gives exactly what it gave before.

Each faster piece is compared with the code it replaced (kept here as a
reference where it was replaced): HiGHS' callback handler, the solution
reader's tables, the verification's column reads, the NumPy numbers of a
re-solve.
"""

from __future__ import annotations

import highspy
import numpy as np
import pytest

from model.bench.synthetic import Size, synthetic_data
from model.formulation.build import build_model
from model.formulation.sets import build_sets
from model.solver import backend as solver_backend
from model.solver.backend import HighsBackend
from model.solver.handoff import integer_columns, standard_form


# ----------------------------------------------------------------------------- HiGHS' callback handler
@pytest.fixture(scope="module")
def form():
    data = synthetic_data(Size())
    return standard_form(build_model(data, build_sets(data)))


def loaded(form, highspy_handler: bool = False) -> HighsBackend:
    backend = HighsBackend()
    if highspy_handler:  # highspy's own handler, as before: an event object per call, then each subscriber
        highspy.Highs.enableCallbacks(backend.highs)
    backend.load(form, integer_columns(form))
    backend.set_method("simplex")
    return backend


def test_the_interrupt_check_alone_never_builds_highspy_events_and_still_stops_a_run(form, monkeypatch):
    fired = []
    original = highspy.highs.HighsCallback.fire
    monkeypatch.setattr(highspy.highs.HighsCallback, "fire", lambda *a: fired.append(a[1]) or original(*a))
    backend = loaded(form)
    assert backend.run() == "Optimal"
    assert fired == []  # the short cut: HiGHS' interrupt flag set directly
    solver_backend._Interrupt.requested = True  # as interrupt_solve() does while a run is in progress
    with pytest.raises(KeyboardInterrupt):
        backend.clear_solver()
        backend.run()
    assert backend.status_text() == "Interrupted by user"
    assert solver_backend._Interrupt.requested is False
    assert backend.run() == "Optimal"


def test_another_subscriber_gets_highspy_events_beside_the_interrupt_check(form):
    backend = loaded(form)
    seen = []
    backend.highs.cbSimplexInterrupt.subscribe(lambda event: seen.append(event.callback_type))
    assert backend.run() == "Optimal"
    assert seen and set(seen) == {highspy.cb.HighsCallbackType.kCallbackSimplexInterrupt}


def test_runs_with_the_short_cut_equal_runs_with_highspys_handler_bit_for_bit(form, monkeypatch):
    fired = []
    original = highspy.highs.HighsCallback.fire
    monkeypatch.setattr(highspy.highs.HighsCallback, "fire", lambda *a: fired.append(a[1]) or original(*a))
    ours, theirs = loaded(form), loaded(form, highspy_handler=True)
    ours.run()
    assert fired == []
    theirs.run()
    assert fired  # highspy's handler did run (an event per call)
    assert ours.objective() == theirs.objective()
    assert np.array_equal(ours.values(), theirs.values())
    assert np.array_equal(ours.row_duals(), theirs.row_duals())
    assert ours.simplex_iterations() == theirs.simplex_iterations()
