"""``review``: written answers shown to a person, and the scores they give merged back.

``python -m autograder review ASSIGNMENT --graded DIR`` writes, under ``DIR/review/``,
one static page per written question (``QUESTION.html``: the question, the model answer, then
every learner's answer, each escaped: learner text is shown as text, never as markup) with an
``index.html``, and ``scores.csv`` to fill in: ``student_id,question,max_points,points,comment``.
Scores already given (imported before, or typed in an earlier ``scores.csv`` and not imported
yet) are kept in the new sheet.

``python -m autograder review ASSIGNMENT --graded DIR --import FILE`` checks every row first
(known student, known question, points a number in [0, max_points], one row per answer) and
changes nothing unless all are right; then it scores each answer, writes each student's
``result.json``, ``feedback.html`` and ``results.json`` again and rewrites ``grades.csv`` (the
other rows kept). A row with empty points leaves its answer pending.
"""

from .pages import write_review
from .sheet import import_scores

__all__ = ["import_scores", "write_review"]
