"""Chapter 17's dilated residual 1D CNN on MNIST-1D: test accuracy and training time per seed.

    .venv/bin/python bench/mnist1d_network.py --profile quick      # 48 channels, 12 epochs
    .venv/bin/python bench/mnist1d_network.py --profile full       # 64 channels, 60 epochs

The network, its width, its epochs and its training configuration come from
`cnnbook.mnist1d_net`, where the chapter takes them from too, so this measures exactly what the
page trains, without the page's baselines and ablation. One PyTorch thread, as on the page.
Prints one line per seed and the mean, and writes `bench/results/mnist1d-PROFILE.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cnnbook import datasets  # noqa: E402
from cnnbook.mnist1d_net import PROFILES, DilatedResNet, our_config  # noqa: E402
from cnnbook.throughput import fastest_device  # noqa: E402
from cnnbook.training import fit, seed_everything  # noqa: E402

SEEDS = (0, 1, 2)  # the chapter's


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--profile", choices=["quick", "full"], default="quick")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    width, epochs = PROFILES[args.profile]
    device, _ = fastest_device(DilatedResNet(width), torch.zeros(40), batch_size=64)
    train_set, test_set = datasets.as_datasets(datasets.mnist1d())
    rows = []
    for seed in SEEDS:
        seed_everything(seed)
        start = time.perf_counter()
        config = our_config(epochs, seed, device)
        config.progress = False
        history = fit(DilatedResNet(width), train_set, test_set, config)
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
        f"{args.profile} profile ({width} channels, {epochs} "
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
                "width": width,
                "epochs": epochs,
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
