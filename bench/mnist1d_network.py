"""Chapter 17's dilated residual 1D CNN on MNIST-1D: test accuracy and training time per seed.

    .venv/bin/python bench/mnist1d_network.py --profile quick      # 48 channels, 12 epochs
    .venv/bin/python bench/mnist1d_network.py --profile full       # 64 channels, 60 epochs

The network, its width and its training configuration are read from the chapter itself
(`chapters/17-mnist1d/index.md`: the cells that define `Block`, `DilatedResNet`, `width`,
`our_epochs` and `our_config`), so this measures exactly what the page trains, without the
page's baselines and ablation. One PyTorch thread, as on the page. Prints one line per seed and
the mean, and writes `bench/results/mnist1d-PROFILE.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cnnbook import datasets  # noqa: E402
from cnnbook.throughput import fastest_device  # noqa: E402
from cnnbook.training import TrainConfig, fit, seed_everything  # noqa: E402

CHAPTER = ROOT / "chapters" / "17-mnist1d" / "index.md"


def chapter_cells() -> list[str]:
    """The code cells of the chapter, in order."""
    text = CHAPTER.read_text()
    return re.findall(r"```\{code-cell\} ipython3\n(.*?)```", text, flags=re.S)


def chapter_network(profile: str) -> dict:
    """Run the chapter's cells that define the network and its training, for ``profile``."""
    namespace: dict = {
        "nn": nn,
        "np": np,
        "torch": torch,
        "TrainConfig": TrainConfig,
        "fastest_device": fastest_device,
        "example": torch.zeros(40),  # one MNIST-1D example's shape
        "profile": profile,
        "__name__": "chapter13",
    }
    wanted = ("class DilatedResNet", "def our_config")
    for cell in chapter_cells():
        if any(key in cell for key in wanted):
            # Keep the definitions; stop before the cell's training loop.
            definitions = cell.split("our_histories, our_seconds")[0]
            exec(compile(definitions, str(CHAPTER), "exec"), namespace)  # noqa: S102
    missing = [
        k
        for k in ("DilatedResNet", "our_config", "width", "our_epochs", "seeds")
        if k not in namespace
    ]
    if missing:
        raise SystemExit(f"{CHAPTER}: could not find {', '.join(missing)} in its code cells")
    return namespace


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--profile", choices=["quick", "full"], default="quick")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    chapter = chapter_network(args.profile)
    train_set, test_set = datasets.as_datasets(datasets.mnist1d())
    rows = []
    for seed in chapter["seeds"]:
        seed_everything(seed)
        start = time.perf_counter()
        config = chapter["our_config"](chapter["our_epochs"], seed)
        config.progress = False
        history = fit(chapter["DilatedResNet"](chapter["width"]), train_set, test_set, config)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "seed": seed,
                "test_acc": history[-1]["test_acc"],
                "seconds": seconds,
                "training_seconds": sum(r["seconds"] for r in history),
            }
        )
        print(
            f"seed {seed}: test accuracy {rows[-1]['test_acc']:.2%}, {seconds:.1f} s "
            f"({rows[-1]['training_seconds']:.1f} s in training passes)",
            flush=True,
        )
    accs = np.array([r["test_acc"] for r in rows])
    print(
        f"{args.profile} profile ({chapter['width']} channels, {chapter['our_epochs']} "
        f"epochs): mean {accs.mean():.2%} ± {accs.std(ddof=1):.2%} over {len(rows)} seeds, "
        f"{np.mean([r['seconds'] for r in rows]):.1f} s per seed, {args.threads} thread(s)"
    )
    out = ROOT / "bench" / "results" / f"mnist1d-{args.profile}.json"
    out.write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d %H:%M"),
                "machine": platform.processor() or platform.machine(),
                "threads": args.threads,
                "profile": args.profile,
                "width": chapter["width"],
                "epochs": chapter["our_epochs"],
                "load_average": list(os.getloadavg()),
                "runs": rows,
                "mean_test_acc": float(accs.mean()),
            },
            indent=1,
        )
        + "\n"
    )
    print(f"saved {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
