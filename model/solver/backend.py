"""One HiGHS instance per built model: load, change, run, read back.

The backend holds the standard form of one model (:mod:`model.solver.handoff`)

    min c·x + offset  s.t.  row_lower ≤ A x ≤ row_upper,  col_lower ≤ x ≤ col_upper,
                            x_j integer for j in the integer columns (a MIP, if any)

in one ``highspy.Highs`` instance and keeps its own copy of c and of the four
bound vectors, so that callers (the least-exposure phases, scenario
re-solves) can read and restore them without asking HiGHS.  Changes are
passed to HiGHS in place; after a change of costs or bounds HiGHS keeps its
basis, so the next :meth:`HighsBackend.run` starts from it (a warm start);
:meth:`HighsBackend.get_basis` / :meth:`HighsBackend.set_basis` store and
restore a basis explicitly, :meth:`HighsBackend.clear_solver` drops it.

Silence: HiGHS 1.16 writes its banner ("Running HiGHS ...") from C++
straight to file descriptor 1, once per process, at the first log event of
an instance whose ``output_flag`` is still on (the default), and
``highspy.Highs.__init__`` causes that event itself, by registering its
callback handler through ``enableCallbacks``.  Constructing the bare C++
object logs nothing, so :func:`new_highs` builds a subclass whose
``enableCallbacks`` switches ``output_flag`` off first: neither the banner
nor any solve log is written, and no file descriptor of the process is
touched.  One solve at a time: never run two HiGHS solves as threads of
one process.

Interruption: HiGHS runs in C++, where Python's SIGINT handling cannot
reach it (the default handler would raise KeyboardInterrupt inside one of
its callbacks, or not at all until the run ends).  Every instance
therefore subscribes to HiGHS' interrupt callbacks (simplex, interior
point, branch and bound: once per iteration or node), which stop the run
once :func:`interrupt_solve` has been called; :meth:`HighsBackend.run`
then raises KeyboardInterrupt.  The library installs no signal handler:
the command line's SIGINT handler calls :func:`interrupt_solve` and raises
KeyboardInterrupt itself when no run is in progress.  The check costs a
Python call per iteration: :func:`_dispatch` replaces highspy's handler
with one that skips highspy's event object when the check is the only
subscriber.  What is left, HiGHS calling Python at each iteration (about
2 µs a call, 0.5 ms of a 9 ms cold run of the one-year base case, 286
calls), is saved where no Ctrl-C can reach the check:
``HighsBackend(interruptible=False)`` runs without it, and a stop
requested during its run takes effect when the run ends (see
:func:`interruptible_here` for the batches' re-solved models).
"""

from __future__ import annotations

import multiprocessing
import os

import highspy
import numpy as np

from model.solver.handoff import StandardForm

# Measured on the benchmark networks (docs/performance.md): dual simplex is
# faster up to about 200k columns (1.6-1.9x at 5k-110k, even at 210k);
# interior point with crossover beyond (1.5x at 750k).
SIMPLEX_BELOW_COLUMNS = 200_000
# Not pdlp: HiGHS' first-order method stops near the optimum without a basis
# (on the base case: 650,000 iterations, 12 s, and a status of 'Unknown' as
# its point misses HiGHS' tolerances), while the duals reported and the
# least-exposure phases need a basic optimal solution.
METHODS = ("auto", "simplex", "ipm")


def available_cores() -> int:
    """The processor cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class _Interrupt:
    """State shared by :func:`interrupt_solve`, the callbacks and :meth:`HighsBackend.run` (one run at a time)."""

    running = False  # a HiGHS run is in progress
    requested = False  # stop it at HiGHS' next check


class _Scheduler:
    """HiGHS' thread pool is one per process, started with the thread count of the first run."""

    threads: int | None = None  # the count it was started with, None before the first run

    @classmethod
    def use(cls, threads: int) -> None:
        """Restart the pool if ``threads`` differs (else HiGHS refuses the run: status 'Not Set')."""
        if cls.threads is not None and cls.threads != threads:
            highspy.Highs.resetGlobalScheduler(True)
        cls.threads = threads


def interrupt_solve() -> bool:
    """Ask the HiGHS run in progress to stop; it then raises KeyboardInterrupt in :meth:`HighsBackend.run`.

    Safe to call from a signal handler.  Returns False when no run is in
    progress (nothing is requested: the caller raises KeyboardInterrupt
    itself).
    """
    if not _Interrupt.running:
        return False
    _Interrupt.requested = True
    return True


# A model re-solved in a batch's own process gets the interrupt check from this many columns: smaller LPs
# solve in milliseconds (Ctrl-C then stops the batch at the end of the run), larger ones may run long.
INTERRUPT_CHECK_FROM_COLUMNS = 50_000


def interruptible_here(n_columns: int) -> bool:
    """Whether a batch's re-solved model of ``n_columns`` columns needs the interrupt check in this process.

    Not in a worker process (a Dask worker: started by ``multiprocessing``,
    ``parent_process()`` is set): Ctrl-C is the main process's, which stops
    the batch by closing its cluster, and nothing in a worker calls
    :func:`interrupt_solve`.  In the main process (``--workers 1``) only
    from :data:`INTERRUPT_CHECK_FROM_COLUMNS` columns: a smaller LP's run
    takes milliseconds, after which :meth:`HighsBackend.run` raises
    KeyboardInterrupt all the same.
    """
    if multiprocessing.parent_process() is not None:
        return False
    return n_columns >= INTERRUPT_CHECK_FROM_COLUMNS


def _stop_if_requested(event) -> None:
    """HiGHS' interrupt callback: stop at this iteration if :func:`interrupt_solve` was called.

    The flag is written either way: HiGHS keeps it between runs, so a run
    after an interrupted one would stop at once.
    """
    event.interrupt(_Interrupt.requested)


_ONLY_STOP = [_stop_if_requested]  # an interrupt event's subscribers when only the backend's own check listens


def _dispatch(callback_type, message: str, data_out, data_in, highs: highspy.Highs) -> None:
    """highspy's callback handler (``Highs.__internal_callback``), with a short cut for the interrupt check.

    HiGHS calls it at every simplex iteration (about 150 times a run of the
    one-year base case).  highspy's own handler builds an event object and
    calls each subscriber, about 3 µs a call; where the only subscriber is
    :func:`_stop_if_requested` this sets HiGHS' interrupt flag directly, as
    that function would.  Any other subscriber (a test's, a user's) gets
    highspy's event as before.  It is still a Python call, so the command
    line's SIGINT handler still runs during a HiGHS run.
    """
    event = highs.callbacks[int(callback_type)]
    if data_in is not None and event.callbacks == _ONLY_STOP:
        data_in.user_interrupt = _Interrupt.requested
    else:
        event.fire(callback_type, message, data_out, data_in)


def _can_dispatch(highs: highspy.Highs) -> bool:
    """True where highspy keeps its subscribers as :func:`_dispatch` reads them (highspy ≥ 1.8 layout)."""
    events = getattr(highs, "callbacks", None)
    return isinstance(events, list) and all(hasattr(event, "fire") and hasattr(event, "callbacks") for event in events)


class _SilentHighs(highspy.Highs):
    """``highspy.Highs`` with its output switched off before its first log line, and a cheaper callback handler."""

    def enableCallbacks(self) -> None:
        """Switch output off, then register the callback handler (:func:`_dispatch`) and restart subscribed events."""
        if not getattr(self, "_silenced", False):
            self.setOptionValue("output_flag", False)
            self._silenced = True
        if not _can_dispatch(self):
            super().enableCallbacks()
            return
        super(highspy.Highs, self).setCallback(_dispatch, self)  # the C++ method highspy's enableCallbacks calls
        for event in self.callbacks:
            if len(event.callbacks) > 0:
                self.startCallback(event.callback_type)


def new_highs() -> highspy.Highs:
    """A ``highspy.Highs`` that writes nothing, not even the banner (see the module docstring)."""
    highs = _SilentHighs()
    highs.setOptionValue("output_flag", False)  # for highspy versions whose __init__ does not register callbacks
    return highs


def choose_method(method: str, n_cols: int, is_mip: bool = False) -> str:
    """``auto`` → ``simplex`` for a MIP or below :data:`SIMPLEX_BELOW_COLUMNS` columns, else ``ipm``; others unchanged.

    A MIP's LPs (its relaxation, the LP with the integer choices fixed) are
    solved by dual simplex whatever their size: branch and bound solves its
    own LPs by dual simplex, the fixed LP starts from the relaxation's basis
    (a warm start only simplex can use), and on the 11-year synthetic cases
    dual simplex solved the relaxation 1.4× (xs, 59,505 columns) and 3.8×
    (s, 253,035 columns) faster than interior point with crossover
    (docs/performance.md, "Over years").
    """
    if method not in METHODS:
        raise ValueError(f"unknown solver method {method!r}; expected one of {', '.join(METHODS)}")
    if method == "auto":
        return "simplex" if is_mip or n_cols < SIMPLEX_BELOW_COLUMNS else "ipm"
    return method


def _index(positions) -> np.ndarray:
    return np.ascontiguousarray(positions, dtype=np.int32)


def _floats(values, size: int) -> np.ndarray:
    """``values`` as a float array of ``size`` (a scalar is repeated)."""
    array = np.asarray(values, dtype=float)
    return np.full(size, float(array)) if array.ndim == 0 else np.ascontiguousarray(array)


def _array(values: list) -> np.ndarray:
    """highspy's list of floats as an array (``np.fromiter``: the same floats, a quarter faster than ``np.array``)."""
    return np.fromiter(values, dtype=float, count=len(values))


def _differ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where two float arrays differ bit for bit (0.0 and -0.0 differ; a NaN equals the same NaN)."""
    return np.ascontiguousarray(a).view(np.int64) != np.ascontiguousarray(b).view(np.int64)


class HighsBackend:
    """Owns one silent ``highspy.Highs`` holding one standard-form model (see the module docstring)."""

    def __init__(self, interruptible: bool = True) -> None:
        """``interruptible``: subscribe the interrupt check (module docstring); without it a run requested to stop
        by :func:`interrupt_solve` ends normally, then :meth:`run` raises KeyboardInterrupt."""
        self.highs = new_highs()
        self.interruptible = interruptible
        if interruptible:
            for callback in (self.highs.cbSimplexInterrupt, self.highs.cbIpmInterrupt, self.highs.cbMipInterrupt):
                callback.subscribe(_stop_if_requested)
        self.highs.setOptionValue("threads", 1)  # not HiGHS' default, 0 (its choice): _Scheduler tracks the count
        self.offset = 0.0
        self.cost = np.zeros(0)
        self.col_lower = np.zeros(0)
        self.col_upper = np.zeros(0)
        self.row_lower = np.zeros(0)
        self.row_upper = np.zeros(0)
        self.integer_columns = np.zeros(0, dtype=np.int32)
        self.matrix = None  # A as loaded (scipy CSC, rows × columns); HiGHS keeps its own copy
        self.method = "simplex"
        self.threads = 1
        self.time_limit: float | None = None
        self.mip_gap_target: float | None = None
        self._mip_gap: float | None = None

    # ----------------------------------------------------------------- model
    def load(self, form: StandardForm, integrality: np.ndarray | None = None) -> None:
        """Pass ``form`` to HiGHS; ``integrality`` lists the integer columns (positions), or None for an LP."""
        matrix = form.matrix
        n_rows, n_cols = matrix.shape
        self.offset = float(form.offset)
        self.matrix = matrix
        self.cost = np.array(form.cost, dtype=float)
        self.col_lower = np.array(form.col_lower, dtype=float)
        self.col_upper = np.array(form.col_upper, dtype=float)
        self.row_lower = np.array(form.row_lower, dtype=float)
        self.row_upper = np.array(form.row_upper, dtype=float)
        lp = highspy.HighsLp()
        lp.num_col_ = n_cols
        lp.num_row_ = n_rows
        lp.col_cost_ = self.cost
        lp.col_lower_ = self.col_lower
        lp.col_upper_ = self.col_upper
        lp.row_lower_ = self.row_lower
        lp.row_upper_ = self.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
        lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
        lp.a_matrix_.value_ = matrix.data.astype(float)
        lp.a_matrix_.num_col_ = n_cols
        lp.a_matrix_.num_row_ = n_rows
        self._check(self.highs.passModel(lp), "passModel")
        self.integer_columns = np.zeros(0, dtype=np.int32)
        if integrality is not None and len(integrality):
            self.set_integrality(integrality)

    @property
    def num_columns(self) -> int:
        return len(self.cost)

    @property
    def num_rows(self) -> int:
        return len(self.row_lower)

    @property
    def is_mip(self) -> bool:
        """True while some column is declared integer."""
        return len(self.integer_columns) > 0

    def change_costs(self, positions, values) -> None:
        """c[positions] = values (a scalar is repeated)."""
        positions = _index(positions)
        values = _floats(values, len(positions))
        self.cost[positions] = values
        self._check(self.highs.changeColsCost(len(positions), positions, values), "changeColsCost")

    def set_costs(self, values: np.ndarray) -> None:
        """Replace the whole cost vector c."""
        self.change_costs(np.arange(self.num_columns), values)

    def update_costs(self, values: np.ndarray) -> None:
        """c = ``values`` (every column), passing HiGHS only the entries that differ bit for bit from c.

        The model HiGHS then holds is the one :meth:`set_costs` gives, without
        a call carrying thousands of unchanged numbers (a sign of zero counts
        as a change).
        """
        values = _floats(values, self.num_columns)
        changed = np.flatnonzero(_differ(values, self.cost))
        if len(changed):
            self.change_costs(changed, values[changed])

    def update_column_bounds(self, lower: np.ndarray, upper: np.ndarray) -> None:
        """col_lower, col_upper = ``lower``, ``upper`` (every column), passing only the columns that differ."""
        lower, upper = _floats(lower, self.num_columns), _floats(upper, self.num_columns)
        changed = np.flatnonzero(_differ(lower, self.col_lower) | _differ(upper, self.col_upper))
        if len(changed):
            self.change_column_bounds(changed, lower[changed], upper[changed])

    def update_row_bounds(self, lower: np.ndarray, upper: np.ndarray) -> None:
        """row_lower, row_upper = ``lower``, ``upper`` (every row), passing only the rows that differ."""
        lower, upper = _floats(lower, self.num_rows), _floats(upper, self.num_rows)
        changed = np.flatnonzero(_differ(lower, self.row_lower) | _differ(upper, self.row_upper))
        if len(changed):
            self.change_row_bounds(changed, lower[changed], upper[changed])

    def change_column_bounds(self, positions, lower, upper) -> None:
        """col_lower[positions] = lower, col_upper[positions] = upper (scalars are repeated)."""
        positions = _index(positions)
        lower, upper = _floats(lower, len(positions)), _floats(upper, len(positions))
        self.col_lower[positions] = lower
        self.col_upper[positions] = upper
        self._check(self.highs.changeColsBounds(len(positions), positions, lower, upper), "changeColsBounds")

    def change_row_bounds(self, positions, lower, upper) -> None:
        """row_lower[positions] = lower, row_upper[positions] = upper (scalars are repeated)."""
        positions = _index(positions)
        lower, upper = _floats(lower, len(positions)), _floats(upper, len(positions))
        self.row_lower[positions] = lower
        self.row_upper[positions] = upper
        self._check(self.highs.changeRowsBounds(len(positions), positions, lower, upper), "changeRowsBounds")

    def change_coefficients(self, positions, values) -> None:
        """A's stored entries at ``positions`` (indices into the loaded CSC matrix's data) become ``values``.

        The sparsity pattern stays; :attr:`matrix` is replaced by a copy with
        the new numbers (the form it was loaded from keeps its own).
        """
        positions = np.asarray(positions, dtype=np.int64)
        values = _floats(values, len(positions))
        matrix = self.matrix.copy()
        matrix.data[positions] = values
        columns = np.searchsorted(matrix.indptr, positions, side="right") - 1
        for row, column, value in zip(matrix.indices[positions], columns, values, strict=True):
            self._check(self.highs.changeCoeff(int(row), int(column), float(value)), "changeCoeff")
        self.matrix = matrix

    def fix_columns(self, positions, values) -> None:
        """col_lower = col_upper = values on ``positions``."""
        self.change_column_bounds(positions, values, values)

    def set_integrality(self, integer_columns) -> None:
        """Declare exactly ``integer_columns`` (positions) integer, every other column continuous."""
        integer_columns = _index(integer_columns)
        if len(self.integer_columns):
            self._change_integrality(self.integer_columns, highspy.HighsVarType.kContinuous)
        if len(integer_columns):
            self._change_integrality(integer_columns, highspy.HighsVarType.kInteger)
        self.integer_columns = integer_columns

    def relax_integrality(self) -> None:
        """Make every column continuous (the model becomes an LP again, with duals)."""
        self.set_integrality([])

    def _change_integrality(self, positions: np.ndarray, var_type) -> None:
        types = np.full(len(positions), int(var_type), dtype=np.uint8)
        self._check(self.highs.changeColsIntegrality(len(positions), positions, types), "changeColsIntegrality")

    # --------------------------------------------------------------- options
    def set_method(
        self,
        method: str = "auto",
        threads: int | None = None,
        time_limit: float | None = None,
        mip_gap: float | None = None,
    ) -> str:
        """Choose the LP algorithm and limits; returns the method used (``auto`` resolved, see :func:`choose_method`).

        Call it after :meth:`load`: ``auto`` depends on the size and on whether the model is a MIP.

        ``simplex`` is dual simplex, ``ipm`` interior point with crossover (a
        basic solution, exact duals).  A MIP is branch and bound whatever the
        method; ``mip_gap`` is its relative gap target (HiGHS' ``mip_rel_gap``).
        ``threads`` None keeps the last setting; more than
        :func:`available_cores` are reduced to them (HiGHS starts every thread
        it is given: 100,000 hung the run).  ``time_limit`` (s, per run) None
        or 0 means no limit.
        """
        method = choose_method(method, self.num_columns, self.is_mip)
        highs = self.highs
        if method == "ipm":
            highs.setOptionValue("run_crossover", "on")
        if threads is not None:
            self.threads = max(1, min(int(threads), available_cores()))
            highs.setOptionValue("threads", self.threads)
        self.time_limit = float(time_limit) if time_limit else None
        if mip_gap is not None:
            self.mip_gap_target = float(mip_gap)
            highs.setOptionValue("mip_rel_gap", self.mip_gap_target)
        self.method = method
        return method

    def set_option(self, name: str, value) -> None:
        """Any other HiGHS option, by HiGHS' name (e.g. ``presolve``)."""
        self._check(self.highs.setOptionValue(name, value), f"setOptionValue({name!r})")

    # ------------------------------------------------------------------- run
    def run(self) -> str:
        """Solve the model as it stands (warm from the current basis, if any); returns :meth:`status_text`.

        A MIP runs with HiGHS' ``solver`` option at ``choose`` (branch and
        bound; some HiGHS versions solve only the relaxation when it names an
        LP algorithm), an LP with the method of :meth:`set_method`.  The time
        limit counts from the start of this run: HiGHS compares it with the
        instance's run time summed over all runs (ERGO-Code/HiGHS#1477), so
        it is passed on as that sum so far plus the limit.

        Raises KeyboardInterrupt when :func:`interrupt_solve` was called
        during the run (the run stops at HiGHS' next iteration).
        """
        highs = self.highs
        highs.setOptionValue("solver", "choose" if self.is_mip else self.method)
        limit = highs.getRunTime() + self.time_limit if self.time_limit else float("inf")
        highs.setOptionValue("time_limit", limit)
        _Scheduler.use(self.threads)
        _Interrupt.running = True
        try:
            highs.run()
        finally:
            _Interrupt.running = False
        if _Interrupt.requested:
            _Interrupt.requested = False
            raise KeyboardInterrupt
        self._mip_gap = float(highs.getInfo().mip_gap) if self.is_mip else None
        return self.status_text()

    def clear_solver(self) -> None:
        """Forget the basis and factorisation: the next run starts afresh (with presolve)."""
        self.highs.clearSolver()

    def status(self) -> highspy.HighsModelStatus:
        """HiGHS' model status after the last run."""
        return self.highs.getModelStatus()

    def status_text(self) -> str:
        """The model status in HiGHS' words ('Optimal', 'Time limit reached', ...)."""
        return self.highs.modelStatusToString(self.status())

    @property
    def optimal(self) -> bool:
        return self.status() == highspy.HighsModelStatus.kOptimal

    @property
    def time_limited(self) -> bool:
        return self.status() == highspy.HighsModelStatus.kTimeLimit

    @property
    def has_values(self) -> bool:
        """True when the last run left a primal feasible x (optimal, or the best point found at a limit).

        Not ``value_valid``: a run stopped early (during presolve, or in dual
        simplex) has values that violate rows.
        """
        feasible = int(highspy.SolutionStatus.kSolutionStatusFeasible)
        return int(self.highs.getInfo().primal_solution_status) == feasible

    @property
    def has_duals(self) -> bool:
        return bool(self.highs.getSolution().dual_valid)

    # ------------------------------------------------------------------ read
    def values(self) -> np.ndarray:
        """x of the last run, by column position."""
        return _array(self.highs.getSolution().col_value)

    def row_values(self) -> np.ndarray:
        """Row activities A x of the last run, by row position."""
        return _array(self.highs.getSolution().row_value)

    def row_duals(self) -> np.ndarray:
        """y = ∂(c·x)/∂(row bound) of the last run, by row position; zeros when HiGHS has none (MIP, early stop)."""
        solution = self.highs.getSolution()
        if not solution.dual_valid:
            return np.zeros(self.num_rows)
        return _array(solution.row_dual)

    def column_duals(self) -> np.ndarray:
        """Reduced costs d = c - Aᵀy of the last run, by column position; zeros when HiGHS has none."""
        solution = self.highs.getSolution()
        if not solution.dual_valid:
            return np.zeros(self.num_columns)
        return _array(solution.col_dual)

    def objective(self) -> float:
        """c·x + offset of the last run."""
        return float(self.highs.getInfo().objective_function_value) + self.offset

    def mip_gap(self) -> float | None:
        """Relative gap |primal - dual bound| / |primal| the last MIP run achieved; None after an LP run."""
        return self._mip_gap

    def simplex_iterations(self) -> int:
        """Simplex iterations of the last run (0 when it started from an optimal basis)."""
        return int(self.highs.getInfo().simplex_iteration_count)

    def offer_solution(self, values: np.ndarray) -> None:
        """Give HiGHS a starting point for the next MIP run (used when feasible, ignored otherwise)."""
        solution = highspy.HighsSolution()
        solution.col_value = list(map(float, values))
        solution.value_valid = True
        self.highs.setSolution(solution)

    def get_basis(self) -> highspy.HighsBasis:
        """A copy of the current basis (valid after an LP run that ended in a basic solution)."""
        return self.highs.getBasis()

    def set_basis(self, basis: highspy.HighsBasis) -> None:
        """Start the next run from ``basis`` (from :meth:`get_basis` on a model of the same shape)."""
        self._check(self.highs.setBasis(basis), "setBasis")

    def version(self) -> str:
        """HiGHS' version, 'major.minor.patch'."""
        try:
            return f"{self.highs.versionMajor()}.{self.highs.versionMinor()}.{self.highs.versionPatch()}"
        except AttributeError:  # pragma: no cover - very old highspy
            return "unknown"

    @staticmethod
    def _check(status: highspy.HighsStatus, call: str) -> None:
        if status == highspy.HighsStatus.kError:
            raise RuntimeError(f"HiGHS refused {call}")
