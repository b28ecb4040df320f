"""Figures of the book: grids of numbers (:mod:`.grids`), sliding windows (:mod:`.windows`),
pooling (:mod:`.pooling`) and gradients through convolutions (:mod:`.gradients`)."""
