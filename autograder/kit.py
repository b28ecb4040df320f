"""The learner's kit: its name, where the book serves it, and the setup that hosted notebooks run.

``make dist`` (:mod:`book.kit`) builds the kit: the web book, the released notebooks and a
learner wheel, ``cnn-from-scratch-kit``, that holds the checker, the public checks, the
reference kernels and the book's helpers (never a solution, a hidden test or an instructor-only
oracle). The book serves the wheel beside its pages, at :func:`kit_url`; the first cell of every
released notebook (:func:`autograder.release.setup_cell`) installs it where the course's package
is missing (Colab, Binder, a fresh Jupyter) and then calls :func:`install_missing_requirements`.

The wheel declares the course's pinned dependencies, so ``pip install`` of the wheel on a
learner's own machine gives the environment the book was built with. A hosted runtime already
has most of them at its own versions (Colab: NumPy, PyTorch, scikit-learn...): replacing them
would download gigabytes and force a restart of the runtime, so the setup cell installs the wheel
without its dependencies and then only the ones the runtime lacks, at the course's pins.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys

KIT_DISTRIBUTION = "cnn-from-scratch-kit"
KIT_FOLDER = "kit"  # where the book serves the wheel, relative to the book's base URL
URL_VARIABLE = "COURSE_KIT_URL"  # overrides the wheel's address in the setup cell


def wheel_name(version: str) -> str:
    """The file name of the learner wheel (pip reads the name and version from it)."""
    return f"{KIT_DISTRIBUTION.replace('-', '_')}-{version}-py3-none-any.whl"


def kit_url(base_url: str, version: str) -> str:
    """The wheel's address beside the book's pages, from the book's base URL.

    >>> kit_url("https://example.org/course", "0.1.0")
    'https://example.org/course/kit/cnn_from_scratch_kit-0.1.0-py3-none-any.whl'
    """
    if not base_url:
        raise ValueError("the book has no base URL: set html.baseurl in _config.yml")
    return f"{base_url.rstrip('/')}/{KIT_FOLDER}/{wheel_name(version)}"


def _name(requirement: str) -> str:
    """The distribution a requirement names: ``numpy==2.4.6`` -> ``numpy``."""
    return re.split(r"[\s<>=!~;\[(]", requirement.strip(), maxsplit=1)[0]


def missing_requirements(distribution: str = KIT_DISTRIBUTION) -> list[str]:
    """The requirements of ``distribution`` that no installed distribution provides, at any
    version (optional extras are left out)."""
    missing = []
    for requirement in importlib.metadata.requires(distribution) or []:
        if "extra" in requirement.partition(";")[2]:
            continue
        try:
            importlib.metadata.version(_name(requirement))
        except importlib.metadata.PackageNotFoundError:
            missing.append(requirement.split(";")[0].strip())
    return missing


def install_missing_requirements(distribution: str = KIT_DISTRIBUTION) -> list[str]:
    """Install, at the course's pins, the requirements this Python lacks; keep the others.

    Returns what was installed. Raises ``RuntimeError`` with pip's last words if pip fails.
    """
    missing = missing_requirements(distribution)
    if not missing:
        return []
    print(f"Installing what this Python lacks: {', '.join(missing)}")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", *missing],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"pip could not install {', '.join(missing)}; install them yourself "
            f"(pip install {' '.join(missing)}) and run this cell again.\n"
            f"pip said: {done.stderr.strip()[-1500:]}"
        )
    importlib.invalidate_caches()
    return missing
