"""Instructor-only oracles: expected values for hidden tests that no library computes.

Never shipped to learners and hidden from a learner's process while grading.
"""
