"""pyproject.toml is the one place for pins; environment.yml must carry exactly the same ones."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    return dict(r.split("==", 1) for r in requirements)


def environment_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return dict(r.split("==", 1) for r in pip if "==" in r)


def test_every_dependency_is_pinned_exactly():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    loose = [r for r in requirements if "==" not in r]
    assert not loose, f"pin these with == in pyproject.toml: {loose}"


def test_environment_yml_matches_pyproject():
    assert environment_pins() == pyproject_pins()


def test_required_pins():
    pins = pyproject_pins()
    assert pins["torch"] == "2.13.0"  # the CPU build on disk; anything else pulls CUDA wheels
    assert pins["jupyter-book"].startswith("1.")  # version 2 is a different program
    assert pins["nbgrader"].startswith("0.9.")
    assert "torchvision" not in pins


def test_environment_yml_installs_the_project_and_python_311():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "-e ." in pip
