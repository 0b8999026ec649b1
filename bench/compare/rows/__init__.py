"""One module per scenario; each fills the rows of :mod:`bench.compare.plan` it measures."""
