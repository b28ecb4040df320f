"""The environment of a notebook's process: what it inherits, what is fixed, what varies per run."""

from __future__ import annotations

import os

from ..layout import PROJECT_ROOT
from ..protocol import MODE_VARIABLE, SEED_VARIABLE

INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")
FIXED = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
    "TQDM_DISABLE": "1",
}
# Set per run; everything else is fixed when a warm runner (zygote) starts.
PER_RUN_VARIABLES = (
    "HOME",
    "MPLCONFIGDIR",
    "IPYTHONDIR",
    "TMPDIR",
    "NUMBA_CACHE_DIR",
    SEED_VARIABLE,
    MODE_VARIABLE,
)


def child_env(extra: dict[str, str] | None) -> dict[str, str]:
    """The environment of a notebook's process: a few inherited variables, one thread per
    numeric library, this project first on ``PYTHONPATH``, then ``extra``."""
    env = {key: value for key, value in os.environ.items() if key in INHERITED}
    # the children import this very grader (not whatever else the environment would resolve
    # `autograder` to, e.g. an editable install of another checkout)
    project = str(PROJECT_ROOT)
    others = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != project]
    env["PYTHONPATH"] = os.pathsep.join([project, *others])
    env.update(FIXED)
    env.update(extra or {})
    return env
