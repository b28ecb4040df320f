"""Which notebook a running kernel holds: what ``check.this_notebook()`` checks.

Each front end tells its kernel in its own way (see :func:`find_this_notebook`); Colab keeps
the notebook in its front end, which hands it over on request (:func:`colab_notebook`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


class NotebookNotFound(RuntimeError):
    """The running notebook's file could not be found; the message says what to pass."""


def _user_namespace() -> dict:
    try:
        from IPython import get_ipython
    except ImportError:
        return {}
    shell = get_ipython()
    return getattr(shell, "user_ns", {}) if shell is not None else {}


def _existing_notebook(value: object) -> Path | None:
    if not isinstance(value, str) or not value.endswith(".ipynb"):
        return None
    path = Path(value).expanduser()
    return path if path.is_file() else None


def find_this_notebook() -> tuple[Path | None, str]:
    """The file of the notebook this kernel runs, and how it was found.

    What each front end tells its kernel:

    - **VS Code** (its Jupyter extension) sets ``__vsc_ipynb_file__`` in the kernel's namespace
      to the notebook's absolute path.
    - **JupyterLab and Jupyter Notebook 7** (Jupyter Server 2) start the kernel with
      ``JPY_SESSION_NAME`` set to the notebook's path, which ipykernel also stores as
      ``__session__`` in the namespace.
    - **Colab** keeps the notebook in Google Drive, not on the kernel's disk: ``None`` is
      returned for it, and :func:`autograder.check.this_notebook` asks Colab's front end for the
      open notebook.
    - **Anything else** (classic Notebook 6, nbclient, a kernel started by hand): the only
      exercise notebook (one with the course's metadata) in the kernel's working folder, which
      Jupyter sets to the notebook's folder.
    """
    namespace = _user_namespace()
    for how, value in (
        ("VS Code's __vsc_ipynb_file__", namespace.get("__vsc_ipynb_file__")),
        ("Jupyter's __session__", namespace.get("__session__")),
        ("Jupyter's JPY_SESSION_NAME", os.environ.get("JPY_SESSION_NAME")),
    ):
        found = _existing_notebook(value)
        if found is not None:
            return found.resolve(), how
    if "google.colab" in sys.modules:
        return None, "Colab"
    candidates = []
    for path in sorted(Path.cwd().glob("*.ipynb")):
        try:
            if "autograder" in json.loads(path.read_text(encoding="utf-8")).get("metadata", {}):
                candidates.append(path)
        except (OSError, ValueError, AttributeError):
            continue
    if len(candidates) == 1:
        return candidates[0].resolve(), "the only exercise notebook in the working folder"
    where = ", ".join(p.name for p in candidates) or "none"
    raise NotebookNotFound(
        "cannot tell which notebook this is (exercise notebooks in the working folder "
        f"{Path.cwd()}: {where}); name it: check.this_notebook('conv1d.ipynb')"
    )


def colab_notebook() -> dict:
    """The notebook open in Colab, as its front end has it now (saved or not)."""
    from google.colab import _message  # type: ignore[import-not-found]

    reply = _message.blocking_request("get_ipynb", request="", timeout_sec=60)
    if not isinstance(reply, dict) or not isinstance(reply.get("ipynb"), dict):
        raise NotebookNotFound("Colab did not hand over the notebook; try again, or download it")
    return reply["ipynb"]
