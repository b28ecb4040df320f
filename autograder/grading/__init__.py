"""Grading a class: one concern per module.

:mod:`.assignment` (the ``grade`` command: orchestration and the self-check), :mod:`.workers`
(local pool or Dask), :mod:`.student` (one learner), :mod:`.sources` (a source notebook prepared
once), :mod:`.submissions` (finding and reading untrusted submissions), :mod:`.splicing` (the
notebook the learner's process runs), :mod:`.expectations` (what the instructor's code
expects), :mod:`.records` (where records are kept), :mod:`.judge` (comparing them),
:mod:`.scoring` (parts and statuses), :mod:`.results` (the one result model and its renderings),
:mod:`.feedback` (its HTML), :mod:`.options` (the instructor's options and the run's state).
"""

from .assignment import SelfCheckError, grade_assignment
from .options import DEFAULT_CELL_TIMEOUT, DEFAULT_DISK_MB, DEFAULT_MEMORY_MB, GradingOptions
from .results import CSV_COLUMNS, PartResult, PartStatus, Status, StudentResult

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_CELL_TIMEOUT",
    "DEFAULT_DISK_MB",
    "DEFAULT_MEMORY_MB",
    "GradingOptions",
    "PartResult",
    "PartStatus",
    "SelfCheckError",
    "Status",
    "StudentResult",
    "grade_assignment",
]
