"""Launch links: exercise notebooks open on Binder / Colab / JupyterHub from the repository.

`book/launch_links.py` builds them from `repository.url` (one setting) and `launch_buttons` in
`_config.yml`; they must point at the `.ipynb` files, never at a page's `.md` source.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from book.browser import DESKTOP
from book.launch_links import LaunchSettings, launch_urls

pytestmark = [pytest.mark.browser, pytest.mark.book, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
REPOSITORY = CONFIG["repository"]["url"].rstrip("/")
SERVICES = {  # provider name -> _config.yml key
    "Binder": "binderhub_url",
    "Colab": "colab_url",
    "JupyterHub": "jupyterhub_url",
}


def notebook_path(provider: str, url: str) -> str:
    """The repository path a launch URL opens."""
    parts = urlsplit(url)
    if provider == "Colab":
        return parts.path.split("/blob/", 1)[1].split("/", 1)[1]
    urlpath = parse_qs(parts.query)["urlpath"][0]
    path = urlpath.split("/tree/", 1)[1] if "/tree/" in urlpath else urlpath.split("tree/", 1)[1]
    if provider == "JupyterHub":  # nbgitpuller clones into a folder named after the repository
        path = path.split("/", 1)[1]
    return path


def test_every_exercise_page_links_its_notebooks_to_the_configured_services(site, site_pages):
    configured = {p for p, key in SERVICES.items() if CONFIG["launch_buttons"].get(key)}
    assert configured, "no launch service configured in _config.yml"
    context = site.new_context(DESKTOP)
    checked = 0
    try:
        for page in site_pages:
            folder = ROOT / Path(page).parent
            notebooks = sorted(folder.glob("*.ipynb")) if Path(page).name == "index.html" else []
            if folder == ROOT or not notebooks:
                continue
            tab, _ = site.open(context, page)
            links = tab.eval_on_selector_all(
                "a.launch-link", "a => a.map(x => ({text: x.textContent, href: x.href}))"
            )
            menu = tab.eval_on_selector_all(".dropdown-launch-buttons a", "a => a.map(x => x.href)")
            tab.close()
            expected = {nb.relative_to(ROOT).as_posix() for nb in notebooks}
            services = tuple(CONFIG["launch_buttons"][SERVICES[p]] for p in configured)
            for provider in configured:
                hrefs = [a["href"] for a in links if a["text"] == provider]
                opened = {notebook_path(provider, href) for href in hrefs}
                assert opened == expected, f"{page}: {provider} opens {opened}, want {expected}"
            for link in links:
                assert link["href"].startswith(services), f"{page}: {link}"
                assert ".md" not in link["href"], f"{page}: {link}"
            assert sorted(menu) == sorted(link["href"] for link in links), (
                f"{page}: the header's launch menu and the exercise links differ"
            )
            checked += 1
    finally:
        context.close()
    assert checked, "no exercise page found"


def test_no_launch_link_opens_a_markdown_page(desktop):
    for page, visit in desktop.items():
        for url in visit.data["links"]:
            host = urlsplit(url).netloc
            if any(service in host for service in ("mybinder", "colab")):
                assert ".ipynb" in url and ".md" not in url, f"{page}: {url}"


def test_launch_urls_follow_the_repository_setting():
    settings = LaunchSettings(
        repository_url="https://github.com/someone/cnn-course.git",
        branch="fall",
        binderhub_url="https://binder.example.org/",
        colab_url="https://colab.research.google.com",
        jupyterhub_url="https://hub.example.edu",
    )
    urls = launch_urls(settings, "chapters/02-conv1d/conv1d.ipynb")
    assert urls["Binder"] == (
        "https://binder.example.org/v2/gh/someone/cnn-course/fall"
        "?urlpath=lab/tree/chapters/02-conv1d/conv1d.ipynb"
    )
    assert urls["Colab"] == (
        "https://colab.research.google.com/github/someone/cnn-course/blob/fall/"
        "chapters/02-conv1d/conv1d.ipynb"
    )
    hub = urlsplit(urls["JupyterHub"])
    assert hub.path == "/hub/user-redirect/git-pull"
    assert parse_qs(hub.query) == {
        "repo": ["https://github.com/someone/cnn-course"],
        "urlpath": ["lab/tree/cnn-course/chapters/02-conv1d/conv1d.ipynb"],
        "branch": ["fall"],
    }


def test_launch_urls_leave_out_colab_off_github():
    settings = LaunchSettings(
        repository_url="https://gitlab.com/someone/cnn-course",
        binderhub_url="https://mybinder.org",
        colab_url="https://colab.research.google.com",
    )
    urls = launch_urls(settings, "chapters/08-pooling/pooling.ipynb")
    assert set(urls) == {"Binder"}
    assert urls["Binder"].startswith("https://mybinder.org/v2/git/https%3A%2F%2Fgitlab.com")


def test_the_repository_is_one_setting():
    text = (ROOT / "_config.yml").read_text(encoding="utf-8")
    assert text.count(REPOSITORY) == 1, "the repository URL must be written once in _config.yml"
