"""Where the simulations of a run execute: this process, a local process pool, or Dask.

A run is a list of independent jobs, one per (variant, replication seed) pair. Each job
carries its own seed and its own copy of the variant, so a job's result depends on
nothing but the job: whichever executor runs it, on whichever worker and in whichever
order, ``results.json`` is byte for byte the same. The executors differ only in where
the jobs run and in how a lost worker is recovered:

``local`` (:class:`LocalExecutor`, the default)
    A process pool on this machine (one process in-process when ``workers=1``); a worker
    killed by the operating system (the out-of-memory killer, ``kill -9``) breaks the
    pool, which is started again for the jobs not yet finished.
``dask`` (:class:`DaskExecutor` without an address)
    A ``distributed.LocalCluster`` started for the run: one single-threaded worker process
    per core (or ``workers``), no dashboard.
``dask://HOST:PORT`` (:class:`DaskExecutor` with an address)
    A ``distributed.Client`` connected to a running Dask scheduler, so the same command
    runs on a cluster of machines (each worker needs this version of ecsnetsim
    installed). A job lost with its worker is run again by the scheduler; one that
    raises is retried ``retries`` times.

Executors are context managers: a cluster is started (or connected to) once on entry
and shut down on exit, also on an error, Ctrl-C or a stop signal, so that a run leaves
no process behind.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from .errors import InputError

#: The names ``--executor`` takes besides an address.
NAMES = ("local", "dask")
#: How ``--executor`` spells the address of a running Dask scheduler.
ADDRESS_PREFIX = "dask://"
#: Seconds to wait for a Dask scheduler to answer before giving up with a clear error.
CONNECT_TIMEOUT_S = 5.0
#: Times a job that raised is run again on Dask (a job lost with its worker is rerun by
#: the scheduler itself, up to its ``allowed-failures``).
RETRIES = 2
#: Times a local pool may break (a worker killed from outside) before the run gives up:
#: a job that kills its worker every time (it needs more memory than there is) must not
#: restart the pool forever.
POOL_RESTARTS = 3
#: The command that installs what ``dask`` needs.
INSTALL_HINT = "pip install -e '.[dask]'"
#: Seconds between a worker's checks that the process that started it is still there.
ORPHAN_CHECK_S = 1.0

_ADDRESS_RE = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(?P<port>\d{1,5})$")

#: A job: the positional arguments of the function the executor runs.
Job = tuple
#: Called with a job's index as soon as that job has finished (for a progress bar).
Done = Callable[[int], None]


class WorkerLost(RuntimeError):
    """Worker processes kept dying (killed from outside) and the run gave up."""


class LocalExecutor:
    """Jobs in a process pool on this machine, or in this process for one worker.

    Parameters
    ----------
    workers : int or None
        Processes at once (default: one per core). With one worker, or one job, the jobs
        run in this process, one after the other.
    """

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to shut down: each :meth:`map` ends its own pool."""

    @property
    def slots(self) -> int:
        """Jobs that run at once."""
        return self.workers or os.cpu_count() or 1

    def map(self, fn: Callable[..., Any], jobs: Sequence[Job], order: Sequence[int],
            done: Done | None = None) -> list:
        """Run ``fn(*job)`` for every job and return the results in the jobs' order.

        Parameters
        ----------
        fn : callable
            A module-level function (the pool pickles it by name).
        jobs : sequence of tuple
            The arguments of each call.
        order : sequence of int
            The jobs' indexes in the order to start them (the longest first, so that no
            long job starts last and runs alone).
        done : callable, optional
            Called with each job's index when it finishes, in the order they finish.
        """
        workers = min(len(jobs), self.slots)
        if workers <= 1:
            out = []
            for i, job in enumerate(jobs):
                out.append(fn(*job))
                if done:
                    done(i)
            return out
        results: dict[int, Any] = {}
        for attempt in range(POOL_RESTARTS + 1):
            left = [i for i in order if i not in results]
            if not left:
                break
            if attempt:
                _log_restart(len(left))
            if _run_pool(fn, jobs, left, min(workers, len(left)), results, done):
                break
        else:
            raise WorkerLost(f"worker processes were killed {POOL_RESTARTS + 1} times "
                             "(by the system, out of memory?); the run gave up")
        return [results[i] for i in range(len(jobs))]


def _log_restart(left: int) -> None:
    """Say on stderr that a worker died and its jobs run again (results are unchanged)."""
    import sys  # noqa: PLC0415

    print(f"ecsnetsim: a worker process died; running the {left} unfinished job(s) again",
          file=sys.stderr)


def _run_pool(fn, jobs: Sequence[Job], left: list[int], workers: int,
              results: dict[int, Any], done: Done | None) -> bool:
    """Run the jobs ``left`` in a fresh pool, storing each result in ``results``; False
    when a worker died (the pool is then broken: the jobs it did not finish are left for
    the next pool), True when all finished."""
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    ex = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method),
                             initializer=_worker_init, initargs=(os.getpid(),))
    pending: dict = {}
    try:
        for i in left:
            pending[ex.submit(fn, *jobs[i])] = i
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                i = pending.pop(fut)
                results[i] = fut.result()
                if done:
                    done(i)
    except BrokenProcessPool:  # a worker died: keep what finished, the rest runs again
        _harvest(pending, results, done)
        _stop_pool(ex)
        return False
    except BaseException:  # an error, Ctrl-C or a stop signal: end the workers now
        _stop_pool(ex)
        raise
    ex.shutdown(wait=True)
    return True


def _harvest(pending: dict, results: dict[int, Any], done: Done | None) -> None:
    """Keep what a broken pool finished before it broke (only unfinished jobs rerun)."""
    for fut, i in list(pending.items()):
        if fut.done() and not fut.cancelled() and fut.exception() is None:
            results[i] = fut.result()
            del pending[fut]
            if done:
                done(i)


def _worker_init(parent: int) -> None:
    """Set a pool worker up to be stopped by its parent only.

    Ctrl-C reaches the whole process group; the parent handles it and ends the workers,
    so a worker ignores SIGINT (no traceback per worker). SIGTERM and SIGHUP get their
    default action back (a forked worker inherits the parent's handlers, which would turn
    the parent's ``terminate()`` into an exception the pool catches). A worker whose
    parent died without cleaning up (SIGKILL) exits by itself instead of running on
    holding the caller's pipes.
    """
    import signal  # noqa: PLC0415
    import threading  # noqa: PLC0415
    import time  # noqa: PLC0415

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="ecsnetsim-orphan-check").start()


def _stop_pool(ex: ProcessPoolExecutor, grace_s: float = 2.0) -> None:
    """End a process pool at once: queued jobs cancelled, running workers terminated
    (SIGTERM, then SIGKILL after ``grace_s``), none left behind. ``shutdown`` alone would
    wait for every running job to finish, which can take minutes."""
    terminate = getattr(ex, "terminate_workers", None)  # Python 3.14+
    procs = list((getattr(ex, "_processes", None) or {}).values())
    if terminate is not None:
        terminate()
    else:
        for p in procs:
            if p.is_alive():
                p.terminate()
    for p in procs:
        p.join(grace_s)
        if p.is_alive():
            p.kill()
            p.join(grace_s)
    ex.shutdown(wait=False, cancel_futures=True)


class DaskExecutor:
    """Jobs on Dask: a ``LocalCluster`` started here, or a running scheduler's cluster.

    Parameters
    ----------
    address : str or None
        ``HOST:PORT`` of a running scheduler (``dask scheduler`` prints it); None starts a
        ``distributed.LocalCluster`` on this machine for the run.
    workers : int or None
        Worker processes of the local cluster (default: one per core), each with one
        thread: a simulation is pure Python and holds the GIL. Ignored with ``address``
        (the cluster has the workers it has).
    retries : int
        Times a job that raised is run again.
    """

    name = "dask"

    def __init__(self, address: str | None = None, workers: int | None = None,
                 retries: int = RETRIES) -> None:
        self.address, self.workers, self.retries = address, workers, retries
        self.client = self.cluster = None

    def __repr__(self) -> str:
        return f"DaskExecutor({self.address or 'LocalCluster'!s})"

    def __enter__(self) -> DaskExecutor:
        distributed = _import_distributed()
        try:
            if self.address is None:
                self.cluster = distributed.LocalCluster(
                    n_workers=self.workers or os.cpu_count() or 1, threads_per_worker=1,
                    processes=True, dashboard_address=None,
                    # the cluster's own chatter (a heartbeat that races the shutdown) is
                    # not the run's; a job's failure reaches the run through its future
                    silence_logs=logging.CRITICAL,
                    # no dashboard, and the scheduler's small HTTP server (health, metrics)
                    # on a free port rather than 8787, which another cluster may hold
                    scheduler_kwargs={"dashboard_address": ":0"},
                    preload=[__name__])  # each worker runs dask_setup below
                self.client = distributed.Client(self.cluster, set_as_default=False)
            else:
                self.client = _connect(distributed, self.address)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Shut the client and, when this executor started it, the cluster down; what a
        run started it ends, whatever ended the run."""
        client, cluster = self.client, self.cluster
        self.client = self.cluster = None
        for part in (client, cluster):
            if part is not None:
                try:
                    part.close()
                except Exception:  # noqa: BLE001 (closing what is already broken)
                    pass

    @property
    def slots(self) -> int:
        """Jobs that run at once: the cluster's threads now (at least one)."""
        if self.client is None:
            return self.workers or os.cpu_count() or 1
        return max(1, sum(self.client.nthreads().values()))

    def map(self, fn: Callable[..., Any], jobs: Sequence[Job], order: Sequence[int],
            done: Done | None = None) -> list:
        """Submit every job at once, the longest first, and return the results in the
        jobs' order; see :meth:`LocalExecutor.map` for the parameters."""
        if self.client is None:
            raise RuntimeError("DaskExecutor.map outside 'with': no cluster to run on")
        distributed = _import_distributed()
        n = len(jobs)
        futures = {}
        try:
            for rank, i in enumerate(order):
                fut = self.client.submit(fn, *jobs[i], pure=False, retries=self.retries,
                                         priority=n - rank)
                futures[fut.key] = (i, fut)
            results: dict[int, Any] = {}
            pending = [f for _, f in futures.values()]
            for fut in distributed.as_completed(pending, loop=self.client.loop):
                i = futures[fut.key][0]
                try:
                    results[i] = fut.result()
                except distributed.KilledWorker:
                    raise WorkerLost("a job's worker process died each time it ran the job "
                                     "(killed by the system, out of memory?); the run gave "
                                     "up") from None
                if done:
                    done(i)
        except BaseException:  # an error, Ctrl-C or a stop signal: drop what is queued
            try:
                self.client.cancel([f for _, f in futures.values()], force=True)
            except Exception:  # noqa: BLE001 (the client may be the thing that failed)
                pass
            raise
        return [results[i] for i in range(n)]


def dask_setup(worker) -> None:
    """Set a worker of the cluster a run starts up to be stopped by the run only (Dask
    calls this on each worker start, restarts included, as the worker's preload).

    Ctrl-C reaches the whole process group, workers too; the run handles it and shuts the
    cluster down, so a worker ignores SIGINT (no traceback per worker). What a worker
    would print is Dask's own (a shutdown that races a heartbeat prints a traceback now
    and then); a job's result and error reach the run through its future, so the worker's
    Python-level stderr goes to the null device. A worker whose parent died exits by
    itself already (Dask watches the pipe to its nanny).
    """
    import signal  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import threading  # noqa: PLC0415

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (for the worker's whole life)


def _import_distributed():
    """``distributed``, or an input error that names the extra to install."""
    try:
        import distributed  # noqa: PLC0415
    except ImportError:
        raise InputError("--executor dask needs Dask's distributed scheduler, which is not "
                         f"installed: {INSTALL_HINT}") from None
    return distributed


def _connect(distributed, address: str):
    """A client of the scheduler at ``address``, or a one-line input error when none
    answers within :data:`CONNECT_TIMEOUT_S`."""
    try:
        return distributed.Client(f"tcp://{address}", timeout=CONNECT_TIMEOUT_S,
                                  set_as_default=False)
    except (OSError, TimeoutError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise InputError(f"--executor {ADDRESS_PREFIX}{address}: no Dask scheduler answered "
                         f"within {CONNECT_TIMEOUT_S:g} s ({first})") from None


Executor = LocalExecutor | DaskExecutor


def parse(text: str) -> tuple[str, str | None]:
    """Read ``--executor``: ``("local", None)``, ``("dask", None)`` or ``("dask",
    "HOST:PORT")``; anything else is an input error naming the three forms."""
    value = (text or "").strip()
    if value.lower() in NAMES:
        return value.lower(), None
    if value.lower().startswith(ADDRESS_PREFIX):
        rest = value[len(ADDRESS_PREFIX):]
        m = _ADDRESS_RE.match(rest)
        if not m or not 1 <= int(m.group("port")) <= 65535:
            raise InputError(f"--executor {text!r}: expected {ADDRESS_PREFIX}HOST:PORT with a "
                             "port from 1 to 65535, e.g. dask://10.0.0.5:8786")
        return "dask", rest
    raise InputError(f"--executor {text!r}: expected local, dask or {ADDRESS_PREFIX}HOST:PORT")


def resolve(executor: str | Executor | None, workers: int | None = None) -> Executor:
    """An executor object from what ``simulate`` or the command line was given (a name,
    an address or an executor already made); ``distributed`` is checked here, before any
    simulation, so that a missing extra fails in a second."""
    if isinstance(executor, LocalExecutor | DaskExecutor):
        return executor
    kind, address = parse("local" if executor is None else str(executor))
    if kind == "local":
        return LocalExecutor(workers)
    _import_distributed()
    return DaskExecutor(address, workers)
