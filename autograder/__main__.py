"""Command line: ``python -m autograder {release,check,grade,review,export,gradescope,
similarity}``.

- ``release ASSIGNMENT [--out DIR]``: write the student version(s) of the assignment's source
  notebooks (default: into the assignment's chapter folder).
- ``check NOTEBOOK [--part ID ...]``: run the notebook's public tests (or only those of the
  named parts); one line per graded part; exit 0 only if all pass.
- ``grade ASSIGNMENT --submissions DIR --out DIR [--workers N] [--timeout S] [--memory MB]
  [--disk MB] [--scheduler ADDRESS] [--seed N] [--force] [--student ID ...]``: grade
  ``DIR/<student>/ASSIGNMENT/*.ipynb`` into ``OUT/grades.csv`` and ``OUT/<student>/``. Exit
  status 3 when the instructor's own source does not earn full marks through the learner's
  path (a broken grading environment: no one is graded). ``--due DATETIME --late-policy
  POLICY [--extensions FILE]``: lateness from each ``timestamp.txt`` (:mod:`.grading.late`).
- ``review ASSIGNMENT --graded DIR [--import FILE]``: pages and a sheet for the written
  answers; with ``--import``, the scores a person gave merged into the grades (:mod:`.review`).
- ``export ASSIGNMENT --graded DIR --roster FILE --format canvas|moodle|csv [--out FILE]``:
  the LMS's gradebook CSV with the assignment's column filled (:mod:`.export`).
- ``gradescope ASSIGNMENT --out FILE.zip``: a Gradescope autograder bundle (:mod:`.gradescope`).
- ``similarity ASSIGNMENT --submissions DIR --out DIR [--common FRACTION] [--pairs N]``: pairs
  of learners ranked by similar solution code, an HTML report for a person (:mod:`.similarity`).

The learner's kit (``make dist``) carries ``check`` only: ``release`` and ``grade`` need the
instructors' repository, and this module imports the grader only when it is there.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

# nbformat imports jsonschema, which imports the optional `rfc3987_syntax` (when installed) and
# builds a parser for IRIs: 1.1 s of every command's start-up here, for a string format that
# notebook validation never checks. Marking it absent makes jsonschema skip that checker.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

from . import check as check_module  # noqa: E402 (after the line above, on purpose)


def has_grader() -> bool:
    """The instructors' checkout has the grader; the learner's kit has only ``check``."""
    return importlib.util.find_spec("autograder.grading.assignment") is not None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="run the public tests of your notebook")
    p.add_argument("notebook", type=Path, help="path to your .ipynb")
    p.add_argument("-v", "--verbose", action="store_true", help="show whole failure messages")
    p.add_argument(
        "--part",
        action="append",
        metavar="ID",
        help="check only this part (a test cell's grade id; repeatable)",
    )
    if not has_grader():
        return parser
    from .grading.options import DEFAULT_CELL_TIMEOUT, DEFAULT_DISK_MB, DEFAULT_MEMORY_MB

    p = sub.add_parser("release", help="write the student version of an assignment")
    p.add_argument("assignment", help="the assignment's folder of sources, e.g. conv1d")
    p.add_argument("--out", type=Path, help="destination folder (default: its chapter folder)")

    p = sub.add_parser("grade", help="grade a folder of submissions")
    p.add_argument("assignment")
    p.add_argument(
        "--submissions",
        type=Path,
        required=True,
        help="folder laid out as DIR/<student>/<assignment>/<notebook>.ipynb",
    )
    p.add_argument("--out", type=Path, required=True, help="where grades.csv and feedback go")
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="parallel grading processes (default: number of cores)",
    )
    p.add_argument(
        "--timeout",
        type=_positive_float,
        default=DEFAULT_CELL_TIMEOUT,
        help=f"seconds one cell may run (default {DEFAULT_CELL_TIMEOUT:g})",
    )
    p.add_argument(
        "--memory",
        type=_positive_int,
        default=DEFAULT_MEMORY_MB,
        help=f"memory limit per submission in MB (default {DEFAULT_MEMORY_MB})",
    )
    p.add_argument(
        "--disk",
        type=_positive_int,
        default=DEFAULT_DISK_MB,
        help="size of a submission's scratch folder in MB, when isolated (default "
        f"{DEFAULT_DISK_MB})",
    )
    p.add_argument(
        "--scheduler",
        help="address of a Dask scheduler, e.g. tcp://10.0.0.5:8786 "
        "(its workers must see the same files at the same paths)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the randomized hidden tests (default: chosen at random)",
    )
    p.add_argument("--force", action="store_true", help="grade students that already have results")
    p.add_argument(
        "--student",
        action="append",
        metavar="ID",
        help="grade only this student (repeatable), again, keeping the other rows of grades.csv",
    )
    _add_late_options(p)
    _add_export_parser(sub)
    _add_gradescope_parser(sub)
    _add_review_parser(sub)
    _add_similarity_parser(sub)
    return parser


def _add_similarity_parser(sub) -> None:
    """``similarity ASSIGNMENT --submissions DIR --out DIR [--common FRACTION] [--pairs N]``."""
    from .similarity import LISTED_PAIRS
    from .similarity.index import COMMON_FRACTION

    p = sub.add_parser(
        "similarity", help="rank pairs of learners by similar solution code, for a human to read"
    )
    p.add_argument("assignment")
    p.add_argument(
        "--submissions",
        type=Path,
        required=True,
        help="folder laid out as DIR/<student>/<assignment>/<notebook>.ipynb",
    )
    p.add_argument("--out", type=Path, required=True, help="where the report goes (index.html)")
    p.add_argument(
        "--common",
        type=float,
        default=COMMON_FRACTION,
        help="ignore code shared by more than this fraction of the class (default "
        f"{COMMON_FRACTION:g})",
    )
    p.add_argument(
        "--pairs",
        type=_positive_int,
        default=LISTED_PAIRS,
        help=f"how many of the best pairs get a side-by-side page (default {LISTED_PAIRS})",
    )


def _similarity(args: argparse.Namespace) -> int:
    from .similarity import similarity_report

    report = similarity_report(
        args.assignment, args.submissions, args.out, common=args.common, listed=args.pairs
    )
    print(
        f"compared {report.students} student folder(s) ({len(report.problems)} with problems): "
        f"{len(report.pairs)} pair(s) share code; report: {report.index_html}"
    )
    return 0


def _add_review_parser(sub) -> None:
    p = sub.add_parser("review", help="pages and a sheet for scoring written answers by hand")
    p.add_argument("assignment")
    p.add_argument("--graded", type=Path, required=True, help="the --out folder of grade")
    p.add_argument(
        "--import",
        type=Path,
        dest="scores",
        metavar="FILE",
        help="merge the filled-in sheet (student_id,question,max_points,points,comment)",
    )


def _run_review(args: argparse.Namespace) -> int:
    from .review import import_scores, write_review

    if args.scores is not None:
        report = import_scores(args.assignment, args.graded, args.scores)
        print(
            f"scored {report.scored} answer(s) of {len(report.students)} student(s); "
            f"{report.left_pending} answer(s) still to score; updated "
            f"{args.graded / 'grades.csv'}"
        )
        return 0
    folder, total, pending = write_review(args.assignment, args.graded)
    print(
        f"wrote {folder / 'index.html'} and {folder / 'scores.csv'}: {total} answer(s), "
        f"{pending} to score"
    )
    return 0


def _add_gradescope_parser(sub) -> None:
    p = sub.add_parser("gradescope", help="build a Gradescope autograder bundle")
    p.add_argument("assignment")
    p.add_argument("--out", type=Path, required=True, help="the bundle, e.g. autograder.zip")


def _add_export_parser(sub) -> None:
    from .export import FORMATS

    p = sub.add_parser("export", help="merge grades into an LMS gradebook CSV")
    p.add_argument("assignment")
    p.add_argument("--graded", type=Path, required=True, help="the --out folder of grade")
    p.add_argument("--roster", type=Path, required=True, help="the LMS's gradebook or roster CSV")
    p.add_argument("--format", choices=FORMATS, required=True, dest="lms_format")
    p.add_argument("--out", type=Path, help="default: GRADED/export/ASSIGNMENT-FORMAT.csv")
    p.add_argument(
        "--id-column",
        help="roster column holding the student ids (default: canvas 'SIS Login ID', moodle "
        "'Email address', csv 'student_id')",
    )
    p.add_argument("--column", help="the assignment's column (default: found or added)")
    p.add_argument(
        "--missing-zero",
        action="store_true",
        help="give 0 to students without a submission (default: an empty cell)",
    )


def _run_export(args: argparse.Namespace) -> int:
    from .export import export_grades

    report = export_grades(
        args.assignment,
        args.graded,
        args.roster,
        args.lms_format,
        args.out,
        id_column=args.id_column,
        column=args.column,
        missing_zero=args.missing_zero,
    )
    for line in report.lines():
        print(line, file=sys.stdout if line.startswith("wrote") else sys.stderr)
    return 0 if report.complete else 1


def _add_late_options(p: argparse.ArgumentParser) -> None:
    """``grade``'s options about late work (:mod:`autograder.grading.late`)."""
    from .grading.late import POLICY_HELP, LatePolicy, parse_datetime

    def due(text: str):
        try:
            return parse_datetime(text, "--due")
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    def policy(text: str) -> LatePolicy:
        try:
            return LatePolicy.parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    p.add_argument(
        "--due",
        type=due,
        metavar="DATETIME",
        help="due time, ISO 8601 with a zone (e.g. 2026-12-01T17:00:00+01:00); each "
        "submission's timestamp.txt is compared with it",
    )
    p.add_argument(
        "--late-policy",
        type=policy,
        default=None,
        metavar="POLICY",
        help=f"what lateness costs: {POLICY_HELP} (default: none, lateness only recorded)",
    )
    p.add_argument(
        "--extensions",
        type=Path,
        metavar="FILE",
        help="CSV with student_id,due (own due time) or student_id,hours (added to --due)",
    )


def _late_rules(args: argparse.Namespace):
    """The late rules of ``grade``'s options, or None when no due time was given."""
    from .grading.late import LatePolicy, LateRules, read_extensions

    if args.due is None and args.late_policy is None and args.extensions is None:
        return None
    extensions = read_extensions(args.extensions, args.due) if args.extensions else {}
    return LateRules(args.due, args.late_policy or LatePolicy(), extensions)


def _warn_unknown_extensions(rules, results) -> None:
    if rules is None:
        return
    unknown = sorted(set(rules.extensions) - {r.student_id for r in results})
    if unknown:
        print(
            f"warning: --extensions names {len(unknown)} student(s) with no submission folder "
            f"(a typo?): {', '.join(unknown)}",
            file=sys.stderr,
        )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "check":
        return check_module.main(args.notebook, verbose=args.verbose, parts=args.part)
    from .grading import SelfCheckError, grade_assignment
    from .progress import ProgressBar
    from .release import release

    try:
        if args.command == "similarity":
            return _similarity(args)
        if args.command == "release":
            for path in release(args.assignment, args.out):
                print(f"wrote {path}")
            return 0
        if args.command == "grade":
            rules = _late_rules(args)
            results = grade_assignment(
                args.assignment,
                args.submissions,
                args.out,
                workers=args.workers,
                seed=args.seed,
                cell_timeout=args.timeout,
                memory_mb=args.memory,
                disk_mb=args.disk,
                force=args.force,
                progress=ProgressBar(),
                scheduler=args.scheduler,
                students=args.student,
                late=rules,
            )
            _warn_unknown_extensions(rules, results)
            failed = sum(r.status != "ok" for r in results)
            print(
                f"graded {len(results)} submission(s), {failed} with problems: "
                f"{args.out / 'grades.csv'}"
            )
            return 0
        if args.command == "export":
            return _run_export(args)
        if args.command == "review":
            return _run_review(args)
        if args.command == "gradescope":
            from .gradescope.bundle import build_bundle

            print(f"wrote {build_bundle(args.assignment, args.out)}")
            return 0
    except SelfCheckError as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
