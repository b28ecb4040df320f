"""Sphinx extension: launch links (Binder, Colab, JupyterHub) for the exercise notebooks.

Loaded from ``_config.yml`` (``sphinx.local_extensions``). Jupyter Book's own launch buttons
point at the page's source, which for our chapters is a MyST ``.md`` text notebook: Colab cannot
open it and Binder opens it as a text file. The notebooks a learner wants to run online are the
exercise notebooks (``chapters/NN-slug/NAME.ipynb``, committed to the repository). So this
extension

* takes the providers from ``launch_buttons`` in ``_config.yml`` and the repository from
  ``repository.url`` / ``repository.branch`` / ``repository.path_to_book`` (one setting each,
  as Jupyter Book reads them),
* switches the theme's own launch buttons off (they would point at the ``.md`` file),
* after every ``{download}`` link to an ``.ipynb`` file, adds a paragraph "Run NAME.ipynb
  online: Binder · Colab · JupyterHub" with links to that notebook in the repository, and
* puts the same links in the page header's launch menu (the rocket) of the pages that have
  exercise notebooks.

A provider whose URL is empty is left out; with none configured the extension adds nothing.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError

PROVIDERS = ("binderhub_url", "colab_url", "jupyterhub_url")
ICONS = {
    "Binder": "_static/images/logo_binder.svg",
    "Colab": "_static/images/logo_colab.png",
    "JupyterHub": "_static/images/logo_jupyterhub.svg",
}
UI_PREFIXES = {"classic": "tree", "jupyterlab": "lab/tree"}


@dataclass(frozen=True)
class LaunchSettings:
    """Where the repository lives and which services open its notebooks."""

    repository_url: str
    branch: str = "main"
    path_to_book: str = ""
    binderhub_url: str = ""
    colab_url: str = ""
    jupyterhub_url: str = ""
    notebook_interface: str = "jupyterlab"

    @property
    def enabled(self) -> bool:
        return bool(self.repository_url) and any(getattr(self, key) for key in PROVIDERS)


def launch_urls(settings: LaunchSettings, path: str) -> dict[str, str]:
    """Launch URLs, by provider name, for the notebook at `path` (relative to the book folder).

    >>> s = LaunchSettings("https://github.com/o/r", "main", "", "https://mybinder.org",
    ...                    "https://colab.research.google.com")
    >>> launch_urls(s, "chapters/02-conv1d/conv1d.ipynb")["Colab"]
    'https://colab.research.google.com/github/o/r/blob/main/chapters/02-conv1d/conv1d.ipynb'
    """
    repo_url = settings.repository_url.rstrip("/")
    if repo_url.endswith(".git"):
        repo_url = repo_url[: -len(".git")]
    parts = urlsplit(repo_url)
    on_github = parts.netloc.lower() == "github.com"
    org_repo = parts.path.strip("/")
    repo_name = org_repo.rsplit("/", 1)[-1]
    book = settings.path_to_book.strip("/")
    path_in_repo = f"{book}/{path}" if book else path
    ui = UI_PREFIXES[settings.notebook_interface]
    branch = settings.branch

    urls: dict[str, str] = {}
    if settings.binderhub_url:
        hub = settings.binderhub_url.rstrip("/")
        spec = f"gh/{org_repo}" if on_github else f"git/{quote(repo_url, safe='')}"
        urls["Binder"] = f"{hub}/v2/{spec}/{branch}?urlpath={ui}/{path_in_repo}"
    if settings.colab_url and on_github:  # Colab opens notebooks from GitHub only
        colab = settings.colab_url.rstrip("/")
        urls["Colab"] = f"{colab}/github/{org_repo}/blob/{branch}/{path_in_repo}"
    if settings.jupyterhub_url:  # nbgitpuller clones the repository into the user's home
        hub = settings.jupyterhub_url.rstrip("/")
        query = urlencode(
            {"repo": repo_url, "urlpath": f"{ui}/{repo_name}/{path_in_repo}", "branch": branch},
            safe="/",
        )
        urls["JupyterHub"] = f"{hub}/hub/user-redirect/git-pull?{query}"
    return urls


def _configure(app: Sphinx, config: Config) -> None:
    theme = config.html_theme_options
    launch = dict(theme.get("launch_buttons") or {})
    interface = launch.get("notebook_interface") or "jupyterlab"
    if interface not in UI_PREFIXES:
        raise ExtensionError(
            f"launch_buttons.notebook_interface must be one of {sorted(UI_PREFIXES)}, "
            f"got {interface!r}"
        )
    app.launch_settings = LaunchSettings(
        repository_url=theme.get("repository_url") or "",
        branch=theme.get("repository_branch") or "main",
        path_to_book=theme.get("path_to_docs") or "",
        binderhub_url=launch.get("binderhub_url") or "",
        colab_url=launch.get("colab_url") or "",
        jupyterhub_url=launch.get("jupyterhub_url") or "",
        notebook_interface=interface,
    )
    # The theme's buttons would launch the page's .md source: switch them off (thebe stays as
    # configured; this book keeps it off because it loads from a CDN).
    theme["launch_buttons"] = {"thebe": launch.get("thebe", False)}


def _exercise_notebooks(app: Sphinx, doctree: nodes.document, docname: str):
    """(download node, notebook path relative to the book folder) for each .ipynb download."""
    for node in doctree.findall(addnodes.download_reference):
        target = node.get("reftarget", "")
        if not target.endswith(".ipynb") or "://" in target:
            continue
        if target.startswith("/"):
            path = posixpath.normpath(target.lstrip("/"))
        else:
            path = posixpath.normpath(posixpath.join(posixpath.dirname(docname), target))
        if not (Path(app.srcdir) / path).is_file():
            continue  # Sphinx itself reports a download that does not exist
        yield node, path


def _add_launch_paragraphs(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    settings: LaunchSettings = app.launch_settings
    if not settings.enabled or app.builder.format != "html":
        return
    for node, path in list(_exercise_notebooks(app, doctree, docname)):
        urls = launch_urls(settings, path)
        if not urls:
            continue
        name = posixpath.basename(path)
        paragraph = nodes.paragraph(classes=["launch-links"])
        paragraph += nodes.Text("Run ")
        paragraph += nodes.literal(text=name)
        paragraph += nodes.Text(" online: ")
        for i, (provider, url) in enumerate(urls.items()):
            if i:
                paragraph += nodes.Text(" · ")
            paragraph += nodes.reference(
                "", provider, refuri=url, classes=["launch-link", f"launch-{provider.lower()}"]
            )
        # Hosted services lack the course's package: the notebook's first cell installs the
        # learner kit that the book serves (never a clone of the instructors' repository).
        paragraph += nodes.Text(" (its first cell installs the course's checker where missing).")
        block = node.parent
        while block is not None and not isinstance(block, nodes.TextElement):
            block = block.parent
        if block is None or block.parent is None:
            continue
        block.parent.insert(block.parent.index(block) + 1, paragraph)


def _add_header_menu(app: Sphinx, pagename, templatename, context, doctree) -> None:
    settings: LaunchSettings = app.launch_settings
    if doctree is None or not settings.enabled or "header_buttons" not in context:
        return
    buttons = []
    for _, path in _exercise_notebooks(app, doctree, pagename):
        name = posixpath.basename(path)
        for provider, url in launch_urls(settings, path).items():
            buttons.append(
                {
                    "type": "link",
                    "text": f"{name} on {provider}",
                    "tooltip": f"Run the exercise notebook {name} on {provider}",
                    "icon": ICONS[provider],
                    "url": url,
                }
            )
    if buttons:
        context["header_buttons"].append(
            {
                "type": "group",
                "tooltip": "Run this chapter's exercise notebooks online",
                "icon": "fas fa-rocket",
                "buttons": buttons,
                "label": "launch-buttons",
            }
        )


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _configure)
    app.connect("doctree-resolved", _add_launch_paragraphs)
    # After the theme has prepared the header buttons (priority 500), before it renders them.
    app.connect("html-page-context", _add_header_menu, priority=501)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
