"""An instructor's source notebook, read once per grading worker and prepared for grading.

Everything the grader derives from a source before it sees any submission: its student
version, each part's rule, the test cells as the learner's process runs them (without expected
values), which solution cells each test cell exercises, the modules a warm runner should import,
the modules to hide from the learner's process, and the lines of the hidden tests (never shown).
A source whose test cells would leak expected values into the learner's process is refused here,
before anyone is graded.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode

from ..layout import PROJECT_ROOT, instructor_only
from ..notebooks import grade_id, has_hidden_tests, is_manual_cell, is_solution_cell, is_test_cell
from ..release import cached_student_version
from ..rules import PartRule, oracle_modules, part_rules
from ..rules.testcells import learner_version, lint
from .cache import autograder_cache

INSTRUCTOR_ORACLES = ("autograder.oracles",)
# Hidden from the learner's process (not on disk at all) when every part forbids them and no
# test needs them: the course's own code and the libraries that would do a part's work. Other
# forbidden modules (the standard library's introspection, common dependencies such as PIL
# that matplotlib imports) stay on disk: the source check and the run-time guard hold them.
HIDEABLE = (
    "autograder.reference",
    *INSTRUCTOR_ORACLES,
    "cnnbook",
    "torch",
    "torchvision",
    "tensorflow",
    "jax",
    "cupy",
    "skimage",
    "scipy.signal",
    "scipy.ndimage",
)


@dataclass(frozen=True)
class SourceNotebook:
    path: Path
    source: NotebookNode
    released: NotebookNode
    rules: dict[int, PartRule]  # solution cell index -> its rule
    learner_cells: dict[int, str]  # other code cells, as the learner's process runs them
    depends: dict[int, frozenset[int]]  # test cell index -> solution cells it exercises
    warm: tuple[str, ...]  # modules a warm runner imports for this notebook
    hidden: tuple[Path, ...]  # files and folders the learner's process must not see
    hidden_lines: frozenset[str]  # lines of the hidden tests, never shown to a learner
    graded_names: frozenset[str] = frozenset()  # the learner's functions the tests call
    # test cell -> (code run just before it, code run just after it) in the learner's process,
    # putting the instructor's versions of earlier parts' functions in place (see correct_for)
    substitutes: dict[int, tuple[str, str]] = field(default_factory=dict)
    # test cell -> the earlier functions it is graded with correct versions of
    uses_correct: dict[int, tuple[str, ...]] = field(default_factory=dict)

    @property
    def tests(self) -> list[int]:
        return [i for i, c in enumerate(self.source.cells) if is_test_cell(c)]

    def same_code_after(self, index: int) -> set[int]:
        """The test cells after ``index`` that exercise exactly the solution cells it does
        (a part's hidden tests after its public ones). When test cell ``index`` ran past its
        time limit, they are not run again: they would pay the limit a second time. Tests of
        later parts are still run (they use correct versions of earlier parts' functions)."""
        hung = self.depends.get(index)
        if not hung:
            return set()
        return {t for t in self.tests if t > index and self.depends.get(t) == hung}

    @property
    def manual(self) -> list[int]:
        """The written answers a person scores (see :mod:`.manual`)."""
        return [i for i, c in enumerate(self.source.cells) if is_manual_cell(c)]

    @property
    def max_score(self) -> float:
        """Every point of the notebook: its tests' and its written answers'."""
        from ..notebooks import points

        return sum(points(self.source.cells[i]) for i in [*self.tests, *self.manual])


def load_source(path: Path) -> SourceNotebook:
    """The prepared source at ``path`` (cached per worker until the file changes)."""
    return _load(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _load(path: Path, mtime_ns: int) -> SourceNotebook:  # noqa: ARG001 - part of the key
    source, released = cached_student_version(path, autograder_cache("released"))
    oracles = oracle_modules(source)
    problems = lint(
        [
            (f"{path.name}: cell {grade_id(c) or i!r}", c.source, has_hidden_tests(c))
            for i, c in enumerate(source.cells)
            if c.cell_type == "code" and not is_solution_cell(c)
        ],
        oracles,
    )
    problems += _public_oracle_problems(source, path.name)
    if problems:
        raise ValueError("the source notebook cannot be graded safely:\n  " + "\n  ".join(problems))
    names: set[str] = set()
    learner_cells = {}
    for index, cell in enumerate(source.cells):
        if cell.cell_type == "code" and not is_solution_cell(cell):
            learner_cells[index] = learner_version(cell.source, names, oracles)
    rules = part_rules(source)
    from ..execution.zygote import modules_imported_by

    imported = modules_imported_by(list(learner_cells.values()))
    hidden_modules = _hidden_modules(rules, imported)
    warm = tuple(m for m in imported if not _inside_any(m, hidden_modules))
    return SourceNotebook(
        path=path,
        source=source,
        released=released,
        rules=rules,
        learner_cells=learner_cells,
        depends=dependencies(source),
        warm=warm,
        hidden=(*instructor_only(), *_module_paths(hidden_modules)),
        hidden_lines=_hidden_lines(source),
        graded_names=graded_names(source),
        substitutes=substitutes(source),
        uses_correct=uses_correct(source),
    )


def _public_oracle_problems(source: NotebookNode, name: str) -> list[str]:
    """Public tests run on the learner's own machine: they may not need an instructor-only
    oracle (a learner does not have it, and must not)."""
    problems = []
    for cell in source.cells:
        if is_test_cell(cell) and not has_hidden_tests(cell):
            for module in INSTRUCTOR_ORACLES:
                if module in cell.source:
                    problems.append(
                        f"{name}: public test cell {grade_id(cell)!r} uses {module}, which "
                        "learners do not have; compare with values instead"
                    )
    return problems


def _inside_any(module: str, parents: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in parents)


def _hidden_modules(rules: dict[int, PartRule], imported: list[str]) -> tuple[str, ...]:
    """Modules every part forbids that no test or locked cell imports (nor anything inside or
    around them), always with the grader's reference: hidden from the learner's process."""
    if not rules:
        return ()
    common = frozenset.intersection(*(rule.forbidden for rule in rules.values()))
    hidden = []
    for name in HIDEABLE:
        always = name in ("autograder.reference", *INSTRUCTOR_ORACLES)
        if not always and not any(_inside_any(name, (entry,)) for entry in common):
            continue  # some part may use it
        if any(_inside_any(m, (name,)) or _inside_any(name, (m,)) for m in imported):
            continue  # a test needs it (or something in it, or around it)
        hidden.append(name)
    return tuple(hidden)


def _module_paths(modules: tuple[str, ...]) -> list[Path]:
    """Where each module lives on disk (its package folder or its file), without importing
    it (its parent package may be imported)."""
    paths: list[Path] = []
    for name in modules:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError, AttributeError):
            continue
        if spec is None:
            continue
        if spec.submodule_search_locations:
            paths.extend(Path(p) for p in spec.submodule_search_locations)
        elif spec.origin and spec.has_location:
            paths.append(Path(spec.origin))
    return [p.resolve() for p in paths if p.exists() and p.resolve() != PROJECT_ROOT]


def _defined_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in getattr(tree, "body", []):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _used_names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def dependencies(source: NotebookNode) -> dict[int, frozenset[int]]:
    """Test cell -> the solution cells it exercises: those defining a name it uses, directly or
    through a locked helper cell (``padding_pair`` calling a learner's ``same_padding``). Not
    through another solution cell: a part answers for its own code, and what a learner's
    function calls at run time is judged at run time."""
    defined: dict[str, list[int]] = {}
    used: dict[int, set[str]] = {}
    for index, cell in enumerate(source.cells):
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        used[index] = _used_names(tree)
        if not is_test_cell(cell):
            for name in _defined_names(tree):
                defined.setdefault(name, []).append(index)
    depends = {}
    for test in (i for i, c in enumerate(source.cells) if is_test_cell(c)):
        seen, todo = set(), [test]
        while todo:
            current = todo.pop()
            for name in used.get(current, ()):
                for provider in defined.get(name, ()):
                    if provider in seen or provider == current:
                        continue
                    seen.add(provider)
                    if not is_solution_cell(source.cells[provider]):
                        todo.append(provider)  # follow a locked helper, not a solution cell
        depends[test] = frozenset(i for i in seen if is_solution_cell(source.cells[i]))
    return depends


def _solution_providers(source: NotebookNode) -> dict[str, tuple[int, set[str]]]:
    """Name -> (the first solution cell defining it, the names that cell uses)."""
    providers: dict[str, tuple[int, set[str]]] = {}
    for index, cell in enumerate(source.cells):
        if cell.cell_type == "code" and is_solution_cell(cell):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            for name in _defined_names(tree):
                providers.setdefault(name, (index, _used_names(tree)))
    return providers


def uses_correct(source: NotebookNode) -> dict[int, tuple[str, ...]]:
    """Test cell -> the functions of earlier parts it is graded with the instructor's versions
    of: those ``metadata.autograder.correct`` names, and what the instructor's versions call of
    the other solution cells (a correct ``backward`` calling a learner's broken
    ``relu_backward`` would charge that mistake twice). Each mistake is charged once, in its
    own part. Never a name the test uses itself that the list leaves out: the part's own."""
    providers = _solution_providers(source)
    found = {}
    for index, cell in enumerate(source.cells):
        names = cell.get("metadata", {}).get("autograder", {}).get("correct", [])
        if not (is_test_cell(cell) and names):
            continue
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError(
                f"cell {grade_id(cell)!r}: metadata.autograder.correct must be a list of "
                "function names"
            )
        try:
            own = _used_names(ast.parse(cell.source)) - set(names)
        except SyntaxError:
            own = set()
        closure, todo = list(names), list(names)
        while todo:  # (a name no cell defines, as in a learner's broken cell, adds nothing)
            for used in sorted(providers.get(todo.pop(), (0, set()))[1]):
                if used in providers and used not in closure and used not in own:
                    closure.append(used)
                    todo.append(used)
        found[index] = tuple(closure)
    return found


def substitutes(source: NotebookNode) -> dict[int, tuple[str, str]]:
    """For each test cell graded with correct versions of earlier functions: the code that puts
    the instructor's solution cells defining them in place before the test (keeping the
    learner's definitions aside), and the code that puts the learner's back after it."""
    providers = _solution_providers(source)
    result = {}
    for test, names in uses_correct(source).items():
        missing = [n for n in names if n not in providers]
        if missing:
            raise ValueError(
                f"cell {grade_id(source.cells[test])!r}: no solution cell defines "
                f"{', '.join(missing)} (metadata.autograder.correct)"
            )
        cells = sorted({providers[n][0] for n in names})
        defined = sorted(
            set().union(*(_defined_names(ast.parse(source.cells[i].source)) for i in cells))
        )
        keep = f"__autograder_kept_{test}"
        before = (
            f"{keep} = {{name: globals()[name] for name in {defined!r} if name in globals()}}\n"
            + "\n".join(source.cells[i].source for i in cells)
        )
        after = (
            f"for __name in {defined!r}:\n    globals().pop(__name, None)\n"
            f"globals().update({keep})\ndel {keep}, __name"
        )
        result[test] = (before, after)
    return result


def graded_names(source: NotebookNode) -> frozenset[str]:
    """Names the solution cells define and the test cells use: the functions parts grade."""
    defined, used = set(), set()
    for cell in source.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        if is_solution_cell(cell):
            defined |= _defined_names(tree)
        elif is_test_cell(cell):
            used |= _used_names(tree)
    return frozenset(defined & used)


def _hidden_lines(source: NotebookNode) -> frozenset[str]:
    """Lines of the hidden tests that appear nowhere a learner can see them."""
    visible = set()
    for cell in source.cells:
        if not has_hidden_tests(cell):
            visible.update(line.strip() for line in cell.source.splitlines())
    lines = set()
    for cell in source.cells:
        if has_hidden_tests(cell):
            for line in cell.source.splitlines():
                text = line.strip()
                if len(text) >= 16 and not text.startswith("#") and text not in visible:
                    lines.add(text)
    return frozenset(lines)
