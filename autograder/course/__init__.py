"""Helpers shared by the book's chapters: what is not the lesson (pasting computed numbers into
the text, figure styling, datasets, training loops) gets one home here instead of being copied
between pages."""
