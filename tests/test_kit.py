"""`make dist`: the learner's kit holds what a learner needs and nothing of the instructors'.

The wheel is built alone in a few seconds (`learner_wheel`); the whole kit reuses the session's
book build (`kit`, see conftest.py). The leak finder is shown to find each kind of leak planted
in a small copy of a kit, so that its silence over the real kit means something.
"""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
import yaml
from notebook_helpers import ROOT, cell_source, load, released_path, source_path

from autograder.kit import KIT_FOLDER, wheel_name
from autograder.release import SETUP_ID, course_kit_url
from book.kit import kit_dependencies, project_version, wheel_modules
from book.leaks import Secrets, find_leaks

NEEDED = {  # what public tests, pages, the notebooks' cells and `check` import
    "autograder.check",
    "autograder.check_log",
    "autograder.checks",
    "autograder.comparisons",
    "autograder.protocol",
    "autograder.notebooks",
    "autograder.files",
    "autograder.layout",
    "autograder.kit",
    "autograder.reference",
    "autograder.reference.conv",
    "autograder.rules",
    "autograder.rules.guard",
    "autograder.rules.static",
    "autograder.execution.runner",
    "autograder.execution.cells",
    "autograder.grading.scoring",
    "cnnbook",
    "cnnbook.training",
    "cnnbook.figures",
}
LEFT_OUT = {  # the instructors' alone: the oracles and the grader beyond what scoring needs
    "autograder.oracles",
    "autograder.oracles.saliency",
    "autograder.grading.assignment",
    "autograder.grading.workers",
    "autograder.grading.student",
    "autograder.grading.expectations",
    "autograder.grading.judge",
    "autograder.grading.submissions",
    "autograder.grading.options",
    "autograder.grading.feedback",
    "autograder.progress",
}
# Pages and modules whose own source teaches code that an exercise's solution or hidden test
# also holds (find_leaks lists these apart as "published"; see the report of the issue):
# chapter 10 writes ReLU, pooling, the dense layer and the SGD step that the cnn-from-scratch
# notebook asks for; cnnbook/resnet.py holds the residual blocks of chapter 13 that the
# architectures notebook asks for (its parts forbid importing cnnbook); chapter 15 draws
# its grid with the loop of the saliency oracle.
KNOWN_PUBLISHED = {
    "chapters/10-cnn-from-scratch/index.md",
    "chapters/15-visualizing/index.md",
    "cnnbook/resnet.py",
}


def test_the_wheel_holds_the_checker_and_nothing_of_the_instructors(learner_wheel):
    modules = set(wheel_modules(learner_wheel))
    assert learner_wheel.name == wheel_name(project_version())
    assert not NEEDED - modules, f"missing from the wheel: {sorted(NEEDED - modules)}"
    assert not LEFT_OUT & modules, f"in the wheel but instructor-only: {LEFT_OUT & modules}"
    assert all(m.startswith(("autograder", "cnnbook")) for m in modules)
    with zipfile.ZipFile(learner_wheel) as archive:
        meta_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(meta_name).decode())
        grading_init = archive.read("autograder/grading/__init__.py").decode()
    assert metadata["Name"] == "cnn-from-scratch-kit"
    assert metadata.get_all("Requires-Dist") == kit_dependencies()
    assert all("==" in d for d in kit_dependencies()), "the kit pins like pyproject.toml"
    assert "import" not in grading_init  # the kit's grading package imports no grader
    print(f"\n{learner_wheel.name}: {learner_wheel.stat().st_size / 1e3:.0f} kB, ", end="")
    print(f"{len(modules)} modules:\n" + "\n".join(sorted(modules)))


def test_the_wheel_alone_runs_check(learner_wheel, tmp_path):
    """Every module of the wheel imports from the wheel alone, and `python -m autograder
    check` works from it (no grader, no oracle, no repository)."""
    site = tmp_path / "site"
    with zipfile.ZipFile(learner_wheel) as archive:
        archive.extractall(site)
    work = tmp_path / "work"
    notebook = shutil.copy(released_path("conv1d"), work.mkdir() or work)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "HOME": str(tmp_path)}
    modules = wheel_modules(learner_wheel)
    probe = (
        "import importlib, autograder\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(autograder.__file__)"
    )

    def run(*args):
        return subprocess.run(
            [sys.executable, *args], capture_output=True, text=True, cwd=work, env=env, timeout=300
        )

    done = run("-c", probe)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == str(site / "autograder" / "__init__.py")
    done = run("-m", "autograder", "check", Path(notebook).name)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "0 of 4 public parts pass" in done.stdout and "✗ conv1d-loop" in done.stdout
    assert (work / ".conv1d.checks.jsonl").is_file()
    done = run("-m", "autograder", "grade", "conv1d", "--submissions", ".", "--out", "out")
    assert done.returncode == 2 and "invalid choice: 'grade'" in done.stderr


# --- the leak finder finds what is planted ----------------------------------------------------


@pytest.fixture(scope="module")
def secrets() -> Secrets:
    found = Secrets.of()
    sources = len(list((ROOT / "solutions").glob("*/*.ipynb")))
    assert sources >= 11 and found.sources == sources and len(found.solution_bodies) >= 50
    assert len(found.hidden_lines) >= 300 and len(found.oracle_lines) >= 20
    return found


def small_kit(folder: Path, wheel: Path) -> Path:
    """A kit's shape in small: the wheel (also where the book serves it), the released
    notebooks, a page with highlighted code."""
    (folder / "book" / KIT_FOLDER).mkdir(parents=True)
    shutil.copy(wheel, folder / wheel.name)
    shutil.copy(wheel, folder / "book" / KIT_FOLDER / wheel.name)
    for notebook in sorted(ROOT.glob("chapters/*/*.ipynb")):
        target = folder / notebook.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(notebook, target)
    page = folder / "book" / "chapters" / "02-conv1d" / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text(highlighted("import numpy as np\nx = np.arange(5.0)"))
    return folder


def highlighted(code: str) -> str:
    """Code as Sphinx renders it: every word in a span, quotes and brackets as entities."""
    spans = "".join(f'<span class="n">{html.escape(word)}</span> ' for word in code.split(" "))
    return f'<html><body><div class="highlight"><pre>{spans}</pre></div></body></html>'


def solution_of(assignment: str, grade_id: str) -> str:
    cell = next(
        c
        for c in load(source_path(assignment))["cells"]
        if c["metadata"]["nbgrader"]["grade_id"] == grade_id
    )
    return cell_source(cell)


def rewrite_wheel(wheel: Path, change) -> None:
    """Rewrite the archive at ``wheel`` with ``change(name, data) -> data`` applied (and any
    extra members that ``change(None, None)`` returns as a dict)."""
    with zipfile.ZipFile(wheel) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members = {n: change(n, d) for n, d in members.items()} | change(None, None)
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def plant(kit: Path, kind: str, secrets: Secrets) -> str:
    """Plant one kind of leak in ``kit``; returns what find_leaks must report."""
    notebook = kit / "chapters" / "02-conv1d" / "conv1d.ipynb"
    wheel = next(kit.glob("*.whl"))
    hidden = sorted(line for line in secrets.hidden_lines if '"' in line)[0]
    if kind in ("marker", "solution-body"):
        nb = json.loads(notebook.read_text())
        body = solution_of("conv1d", "conv1d-loop-solution")
        if kind == "solution-body":
            body = "\n".join(line for line in body.splitlines() if "SOLUTION" not in line)
        cell = next(
            c
            for c in nb["cells"]
            if c["metadata"]["nbgrader"]["grade_id"] == "conv1d-loop-solution"
        )
        cell["source"] = body
        notebook.write_text(json.dumps(nb, indent=1))
        return "chapters/02-conv1d/conv1d.ipynb: " + (
            "nbgrader marker 'BEGIN SOLUTION'"
            if kind == "marker"
            else "the body of a solution cell"
        )
    if kind == "hidden-test-in-a-page":
        page = kit / "book" / "chapters" / "02-conv1d" / "index.html"
        page.write_text(highlighted(f"import numpy as np\n{hidden}"))
        return f"book/chapters/02-conv1d/index.html: a line of a hidden test: {hidden[:80]!r}"
    if kind == "hidden-test-in-a-module":
        rewrite_wheel(
            wheel,
            lambda n, d: (
                {}
                if n is None
                else d + f"\n# for later\n{hidden}\n".encode()
                if n == "cnnbook/pages.py"
                else d
            ),
        )
        return f"{wheel.name}!/cnnbook/pages.py: a line of a hidden test"
    if kind == "solution-body-in-a-published-module":  # its source does not teach it: a leak
        body = solution_of("architectures", "basic-block-solution").replace("### ", "# ")
        rewrite_wheel(
            wheel,
            lambda n, d: (
                {}
                if n is None
                else d + f"\n\ndef forward(self, x):\n{body}\n".encode()
                if n == "cnnbook/training.py"
                else d
            ),
        )
        return f"{wheel.name}!/cnnbook/training.py: the body of a solution cell"
    if kind == "oracle-module":
        oracle = (ROOT / "autograder" / "oracles" / "saliency.py").read_bytes()
        rewrite_wheel(
            wheel, lambda n, d: {"autograder/oracles/saliency.py": oracle} if n is None else d
        )
        return f"{wheel.name}!/autograder/oracles/saliency.py: an instructor-only oracle module"
    if kind == "solutions-path":
        (kit / "extra" / "solutions").mkdir(parents=True)
        (kit / "extra" / "solutions" / "notes.txt").write_text("nothing to see")
        return "extra/solutions/notes.txt: a path in a solutions/ folder"
    if kind == "solutions-named":
        (kit / "README.md").write_text("The answers are in solutions/conv1d/conv1d.ipynb.\n")
        return "README.md: names the instructors' solutions/ folder"
    raise ValueError(kind)


KINDS = (
    "marker",
    "solution-body",
    "hidden-test-in-a-page",
    "hidden-test-in-a-module",
    "solution-body-in-a-published-module",
    "oracle-module",
    "solutions-path",
    "solutions-named",
)


@pytest.mark.parametrize("kind", KINDS)
def test_a_planted_leak_is_found(kind, learner_wheel, secrets, tmp_path):
    clean = small_kit(tmp_path / "clean", learner_wheel)
    published = []
    assert find_leaks(clean, secrets, published=published) == []
    assert all("cnnbook/resnet.py" in p for p in published)  # the wheel's residual blocks
    leaky = small_kit(tmp_path / "leaky", learner_wheel)
    expected = plant(leaky, kind, secrets)
    leaks = find_leaks(leaky, secrets)
    assert any(leak.startswith(expected) for leak in leaks), (expected, leaks)


# --- the real kit -------------------------------------------------------------------------------


@pytest.mark.book
@pytest.mark.slow
def test_the_kit_leaks_nothing_and_holds_what_learners_need(kit, secrets):
    published = []
    leaks = find_leaks(kit, secrets, published=published)
    assert leaks == [], "the learner kit leaks:\n" + "\n".join(leaks)
    origins = {p.rsplit("(also in ", 1)[1].rstrip(")") for p in published}
    assert origins <= KNOWN_PUBLISHED, (
        "a page or module of the book now teaches an exercise's solution or hidden test: "
        f"{sorted(origins - KNOWN_PUBLISHED)}\n" + "\n".join(published)
    )
    wheel = kit / wheel_name(project_version())
    assert (kit / "book" / KIT_FOLDER / wheel.name).read_bytes() == wheel.read_bytes()
    assert (kit / "book" / "index.html").is_file() and (kit / "README.md").is_file()
    downloads = {p.name: p.read_bytes() for p in (kit / "book" / "_downloads").rglob("*.ipynb")}
    released = sorted(ROOT.glob("chapters/*/*.ipynb"))
    assert released
    for notebook in released:
        assert (kit / notebook.relative_to(ROOT)).read_bytes() == notebook.read_bytes()
        assert downloads[notebook.name] == notebook.read_bytes(), f"{notebook.name} download"
    size = sum(p.stat().st_size for p in kit.rglob("*") if p.is_file())
    print(f"\nthe learner kit: {size / 1e6:.1f} MB, wheel {wheel.stat().st_size / 1e3:.0f} kB")
    print("published by the book itself:\n" + "\n".join(published))


@pytest.mark.book
@pytest.mark.slow
def test_every_notebook_sets_itself_up_from_the_wheel_the_book_serves(kit):
    """The setup cell's address, taken as a path under the book's base URL, is a file of the
    built book: the wheel."""
    url = course_kit_url()
    base = yaml.safe_load((ROOT / "_config.yml").read_text())["html"]["baseurl"]
    assert url.startswith(base)
    served = kit / "book" / url.removeprefix(base)
    assert served.is_file() and served.name == wheel_name(project_version())
    for notebook in sorted(ROOT.glob("chapters/*/*.ipynb")):
        first = load(notebook)["cells"][0]
        assert first["metadata"]["nbgrader"]["grade_id"] == SETUP_ID, notebook.name
        assert f'_install_course_kit("{url}")' in cell_source(first), notebook.name


def test_make_dist_takes_relative_folders(tmp_path, monkeypatch):
    """`make dist` passes `--out dist`, relative to the repository."""
    from book.kit import build_wheel

    monkeypatch.chdir(tmp_path)
    wheel = build_wheel(Path("dist"))
    assert wheel == (tmp_path / "dist" / wheel_name(project_version())).resolve()
    assert wheel.is_file()
