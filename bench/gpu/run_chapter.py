"""Run a MyST chapter's code cells in order as one script (the first three figures saved to
``$OUT``, glued values recorded by ``myst_nb.glue``): ``python3 run_chapter.py PAGE TAG``."""

import os
import sys
import time
import traceback

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from book.page_cells import code_cells  # noqa: E402

out = os.environ.get("OUT", "/tmp")
chapter, tag = sys.argv[1], sys.argv[2]
namespace = {"__name__": "__main__"}
figures = [0]


def show(*args, **kwargs):
    figures[0] += 1
    if figures[0] <= 3:
        plt.savefig(f"{out}/{tag}-fig{figures[0]}.png", dpi=60)
    plt.close("all")


plt.show = show
start = time.time()
for cell in code_cells(chapter):
    t = time.time()
    try:
        exec(compile(cell.source, f"{chapter}#cell{cell.index}", "exec"), namespace)  # noqa: S102
    except Exception:
        traceback.print_exc()
        print(f"CELL {cell.index} FAILED after {time.time() - t:.1f}s")
        sys.exit(1)
    print(f"cell {cell.index}: {time.time() - t:.1f}s", flush=True)
print(f"chapter {tag} ran in {time.time() - start:.1f}s")
