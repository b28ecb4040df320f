"""Sphinx extension that keeps the web book offline and its build reproducible.

Loaded from ``_config.yml`` (``sphinx.local_extensions``). It

* serves MathJax 3 from the build: ``tex-svg-full.js`` and its licence are copied from the
  pinned PyPI package ``django-static-mathjax`` (MathJax 3.2.2) into ``_static/mathjax/`` of the
  output, where ``mathjax_path`` points. The file is deliberately not in the source ``_static/``
  folder: Jupyter Book adds every ``.js`` found there to every page;
* resolves a relative execution-cache path against the book folder, so the cache is shared by
  ``make book`` and the test suite whatever the working directory or output folder;
* switches off tqdm progress bars in executed pages (one line per update otherwise).
"""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError

MATHJAX_PACKAGE = "django-static-mathjax"  # PyPI distribution; its import package is `mathjax`
MATHJAX_FILE = "tex-svg-full.js"  # the single-file build with every TeX extension and SVG fonts


def mathjax_source_dir() -> Path:
    """Folder of the installed MathJax 3 ``es5`` build."""
    try:
        root = resources.files("mathjax")
    except ModuleNotFoundError as exc:
        raise ExtensionError(
            f"MathJax is not installed: the book serves its own copy from the PyPI package "
            f"{MATHJAX_PACKAGE!r}. Run `pip install -e '.[book]'` (or `make venv`)."
        ) from exc
    es5 = Path(str(root)) / "static" / "mathjax" / "es5"
    if not (es5 / MATHJAX_FILE).is_file():
        raise ExtensionError(f"{es5 / MATHJAX_FILE} is missing: reinstall {MATHJAX_PACKAGE}.")
    return es5


def _configure(app: Sphinx, config: Config) -> None:
    os.environ.setdefault("TQDM_DISABLE", "1")
    cache = config.nb_execution_cache_path
    if cache and not Path(cache).is_absolute():
        config.nb_execution_cache_path = str((Path(app.srcdir) / cache).resolve())
    if "://" in config.mathjax_path or not config.mathjax_path.endswith(MATHJAX_FILE):
        raise ExtensionError(
            f"mathjax_path must name the bundled {MATHJAX_FILE} (relative to _static/), "
            f"got {config.mathjax_path!r}"
        )


def _copy_mathjax(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    es5 = mathjax_source_dir()
    target = Path(app.outdir) / "_static" / app.config.mathjax_path
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(es5 / MATHJAX_FILE, target)
    shutil.copyfile(es5.parent / "LICENSE", target.parent / "LICENSE")


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _configure)
    app.connect("builder-inited", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
