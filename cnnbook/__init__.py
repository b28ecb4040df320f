"""The book's own package: what the chapters import that is not the lesson.

Data sets with fixed splits (:mod:`cnnbook.datasets`), the networks the chapters define and the
scripts reuse (:mod:`cnnbook.models`), the training loop (:mod:`cnnbook.training`) and its
command line (``python -m cnnbook.train``), multi-process training (:mod:`cnnbook.ddp`), tables
of networks (:mod:`cnnbook.model_table`), figures (:mod:`cnnbook.figures`) and pasting computed
numbers into the text (:mod:`cnnbook.pages`).

Nothing here is an answer key: the grader's oracles live in ``autograder`` and never in a module
a learner's notebook imports.
"""
