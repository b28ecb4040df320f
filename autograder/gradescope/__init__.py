"""Gradescope: ``python -m autograder gradescope ASSIGNMENT --out autograder.zip`` builds an
autograder bundle (:mod:`.bundle`); on Gradescope its ``run_autograder`` grades
``/autograder/submission/`` with this grader and writes ``/autograder/results/results.json``
(:mod:`.run`; the rendering is :mod:`autograder.grading.gradescope`)."""
