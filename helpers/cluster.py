"""Dask for the dataset runner: a local cluster that listens only here, threads per model, crashes.

Belongs with ``notebooks/10_explaining_datasets.ipynb``, which calls :func:`local_cluster`
as ``dataset.local_cluster`` (:mod:`helpers.dataset` re-exports it). Dask
(``dask.distributed``) is the ``scale`` extra: this module imports it only when called, and
:func:`require_distributed` names the extra when it is missing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .classifiers import available_cores

__all__ = [
    "SCALE_EXTRA",
    "forget_worker_object",
    "local_cluster",
    "model_threads_by_host",
    "require_distributed",
    "run_on_dask",
    "worker_host",
    "worker_object",
]

#: The optional dependency group that installs Dask.
SCALE_EXTRA = "scale"

#: Where :func:`local_cluster` serves Dask's dashboard: this machine only, on a free port.
_LOOPBACK = "127.0.0.1"

_WORKER_OBJECTS: dict[str, Any] = {}
_WORKER_LOCK = threading.Lock()


def require_distributed() -> Any:
    """The ``distributed`` module, or an ``ImportError`` that names the extra to install.

    Belongs with ``notebooks/10_explaining_datasets.ipynb``; no notebook calls it.

    Returns
    -------
    module
        ``distributed``.

    Raises
    ------
    ImportError
        If Dask is not installed; the message gives the install command and
        ``client="serial"`` as the way without Dask.
    """
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            "explain_dataset runs on Dask (dask.distributed), which is not installed. Fix: "
            f'pip install -e ".[{SCALE_EXTRA}]" in the project (or pip install '
            f'"lime-tutorial[{SCALE_EXTRA}]"); or pass client="serial" to explain the images '
            "one after the other in this process."
        ) from exc
    return distributed


def local_cluster(n_workers: int | None = None, **kwargs: Any) -> Any:
    """A Dask ``LocalCluster`` sized for this machine: one single-threaded worker per core.

    Belongs with ``notebooks/10_explaining_datasets.ipynb``, which calls it as
    ``dataset.local_cluster`` (:mod:`helpers.dataset` re-exports it). Each worker is a process with
    one thread and builds its own model; :func:`helpers.dataset.explain_dataset` gives each
    model the machine's cores divided by the Dask threads on it (here one thread each), so
    LiteRT or TensorFlow and the workers together never run more threads than cores. (A
    model given by name gets that many LiteRT threads; TensorFlow started by any model gets
    that many through ``TF_NUM_INTRAOP_THREADS`` unless it is set; a factory that builds a
    LiteRT model chooses its own.)

    Everything listens on this machine only (``127.0.0.1``): the scheduler, the workers and
    the scheduler's web server (Dask's dashboard when ``bokeh`` is installed, and its
    ``/info``, ``/metrics`` and ``/json`` pages in any case), which gets a free port,
    ``cluster.dashboard_link``. To show the dashboard to other machines, ask for it:
    ``dashboard_address="0.0.0.0:8787"``; ``dashboard_address=None`` turns it off.

    Parameters
    ----------
    n_workers
        Worker processes; default: the cores this process may use.
    **kwargs
        Passed to ``distributed.LocalCluster`` (they override the settings above).

    Returns
    -------
    distributed.LocalCluster
        Connect with ``distributed.Client(cluster)``; close both when done.
    """
    distributed = require_distributed()
    settings = {
        "n_workers": n_workers or available_cores(),
        "threads_per_worker": 1,
        "processes": True,
        "host": _LOOPBACK,
        "dashboard_address": f"{_LOOPBACK}:0",  # a free port: never another cluster's 8787
        "worker_dashboard_address": f"{_LOOPBACK}:0",
        **kwargs,
    }
    return distributed.LocalCluster(**settings)


def model_threads_by_host(client: Any) -> dict[str, int]:
    """Each host's cores divided by the Dask threads running on it (at least 1).

    Belongs with ``notebooks/10_explaining_datasets.ipynb``; no notebook calls it.

    Parameters
    ----------
    client
        A connected ``distributed.Client``.

    Returns
    -------
    dict
        Host address to the threads each model on that host may use.
    """
    from distributed.comm import get_address_host

    workers = client.scheduler_info(n_workers=-1)["workers"]
    cores = client.run(available_cores)
    threads: dict[str, int] = {}
    host_cores: dict[str, int] = {}
    for address, info in workers.items():
        host = get_address_host(address)
        threads[host] = threads.get(host, 0) + int(info.get("nthreads", 1))
        host_cores[host] = int(cores.get(address, 1))
    return {host: max(1, host_cores[host] // threads[host]) for host in threads}


def run_on_dask(
    client: Any,
    function: Callable[[Any], Any],
    items: dict[str, Any],
    finish: Callable[[str, Any], None],
    crashed: Callable[[str], Any],
    *,
    run: str,
    with_threads: Callable[[Any, dict[str, int]], Any] | None = None,
) -> None:
    """Run ``function`` on every item on Dask; blame a dead worker only on the item that kills it.

    Belongs with ``notebooks/10_explaining_datasets.ipynb``; no notebook calls it
    (:func:`helpers.dataset.explain_dataset` runs its images with it).

    When a worker dies, Dask counts the death against every task that was on it, the
    innocent ones queued beside the culprit too, and gives up on a task
    (``KilledWorker``) after ``distributed.scheduler.allowed-failures`` deaths. So an item
    that ends in ``KilledWorker`` is first only a suspect: once the others are finished,
    each suspect runs again alone, and only one whose worker dies again while it is the only
    task is reported through ``crashed``.

    Parameters
    ----------
    client
        A connected ``distributed.Client``, or ``None`` for a :func:`local_cluster` started
        for this call and closed at its end.
    function
        Called on a worker with one item; returns its result.
    items
        Name to item (the names are unique, and part of the Dask keys).
    finish
        Called here, in completion order, with each item's name and ``function``'s result.
    crashed
        Called with the name of an item that kills its worker even alone; ``finish`` gets
        what it returns.
    run
        This call's unique id: it starts the Dask keys, and the objects kept for it on the
        workers (:func:`worker_object`) are freed at the end.
    with_threads
        ``with_threads(item, model_threads_by_host(client))`` is what is sent, if given.

    Raises
    ------
    Exception
        Any error ``function`` raises, other than a worker's death, stops the run.
    """
    distributed = require_distributed()
    cluster = local_cluster() if client is None else None
    if cluster is not None:
        client = distributed.Client(cluster)
    futures: list[Any] = []
    try:
        if with_threads is not None:
            threads = model_threads_by_host(client)
            items = {name: with_threads(item, threads) for name, item in items.items()}
        names = list(items)
        futures = client.map(
            function, list(items.values()), key=[f"{run}-{n}" for n in names], pure=False
        )
        name_of = {f.key: n for f, n in zip(futures, names, strict=True)}
        suspects = []
        for future in distributed.as_completed(futures):
            if future.status == "error":
                exc = future.exception()
                if not isinstance(exc, distributed.KilledWorker):
                    raise exc
                suspects.append(name_of[future.key])
            else:
                finish(name_of[future.key], future.result())
            future.release()
        for name in suspects:  # alone now: a death can only be this item's
            future = client.submit(function, items[name], key=f"{run}-{name}-alone", pure=False)
            futures.append(future)
            try:
                result = future.result()
            except distributed.KilledWorker:
                result = crashed(name)
            future.release()
            finish(name, result)
    finally:
        _close(client, cluster, futures, run)


def _close(client: Any, cluster: Any, futures: list[Any], run: str) -> None:
    """Cancel what is left; close our own cluster, or free the run's objects on a shared one."""
    client.cancel(futures)
    if cluster is not None:
        client.close()
        cluster.close()
        return
    try:
        client.run(forget_worker_object, run)
    except Exception:  # a worker that is gone has nothing to free
        pass


def worker_host() -> str:
    """The host of the Dask worker this runs on (to look up its share of the cores).

    Belongs with ``notebooks/10_explaining_datasets.ipynb``; no notebook calls it.

    Returns
    -------
    str
        The host part of the worker's address, as in :func:`model_threads_by_host`.
    """
    from distributed import get_worker
    from distributed.comm import get_address_host

    return get_address_host(get_worker().address)


def worker_object(key: str, build: Callable[[], Any]) -> Any:
    """In a worker process: the object ``build()`` made for ``key``, built once and kept.

    Belongs with ``notebooks/10_explaining_datasets.ipynb``; no notebook calls it
    (:func:`helpers.dataset.explain_dataset` keeps each worker's model with it, so the model
    is built on the worker's first image and reused for the others).

    Parameters
    ----------
    key
        What the object is for (a run's id); :func:`forget_worker_object` frees it.
    build
        Makes the object, the first time ``key`` is asked for in this process.

    Returns
    -------
    object
        The same object for every call with ``key`` until it is forgotten.
    """
    with _WORKER_LOCK:
        if key not in _WORKER_OBJECTS:
            _WORKER_OBJECTS[key] = build()
        return _WORKER_OBJECTS[key]


def forget_worker_object(key: str) -> None:
    """Free the object kept for ``key`` in this process (run on each worker by ``Client.run``).

    Belongs with ``notebooks/10_explaining_datasets.ipynb``; no notebook calls it.

    Parameters
    ----------
    key
        As given to :func:`worker_object`; an unknown key is ignored.
    """
    with _WORKER_LOCK:
        _WORKER_OBJECTS.pop(key, None)
