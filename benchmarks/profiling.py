"""Measuring what an explanation costs: peak memory in a fresh process.

Tooling, not part of the ``helpers`` package: ``benchmarks/bench_explain.py`` imports it as a
sibling module, and ``tests/test_cache_and_memory.py`` through pytest's ``pythonpath``. It
checks the claim of ``notebooks/02_perturbation.ipynb`` that streaming bounds memory, so it
belongs with that notebook; no notebook imports it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

__all__ = ["peak_rss_of_explain"]

_SCRIPT = textwrap.dedent(
    """
    import sys, numpy as np
    from helpers import explain, segmentation
    n, size, batch = (int(v) for v in sys.argv[1:4])
    image = np.random.default_rng(0).integers(0, 256, size=(size, size, 3), dtype=np.uint8)
    segments = segmentation.segment(image, "grid", n_rows=10, n_cols=10)
    def model(x):  # a cheap classifier: 3 "classes" from the mean colour
        return x.reshape(len(x), -1, 3).mean(axis=1) / 255.0
    explain.explain(image, model, segments=segments, num_samples=n, batch_size=batch,
                    random_state=0, progress=False)
    # VmHWM is this process's own peak (ru_maxrss would include the parent's, kept over exec)
    status = open("/proc/self/status").read().split("VmHWM:")[1]
    print(int(status.split()[0]))
    """
)


def peak_rss_of_explain(num_samples: int, *, size: int = 299, batch_size: int = 32) -> float:
    """Peak resident memory (MB) of a fresh Python process running one explanation (Linux).

    Belongs with ``notebooks/02_perturbation.ipynb``; no notebook calls it. The classifier is
    trivial, so what is measured is the pipeline's own memory: with streaming, it should not
    grow with ``num_samples`` beyond the samples and predictions.

    Parameters
    ----------
    num_samples
        LIME samples of the explanation.
    size
        Side of the random square image, in pixels (segmented as a 10 x 10 grid).
    batch_size
        Images per model call.

    Returns
    -------
    float
        The child process's peak resident memory (``VmHWM``), in MiB.

    Raises
    ------
    subprocess.CalledProcessError
        If the child fails (e.g. without ``/proc``, outside Linux).

    Examples
    --------
    >>> peak_rss_of_explain(2000) < 2 * peak_rss_of_explain(500)  # doctest: +SKIP
    True
    """
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(num_samples), str(size), str(batch_size)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.split()[-1]) / 1024  # VmHWM is in KiB
