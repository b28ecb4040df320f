"""The course's training loop against the raw speed of the model it trains.

    .venv/bin/python bench/loop_efficiency.py                      # CPU: quarter-width ResNet-18
    python bench/loop_efficiency.py --device cuda --model resnet18 --batch 512 --n 50000

Two numbers for the same model, batch and device:

* **raw**: forward + mean cross-entropy + backward + optimizer step (SGD, Nesterov momentum,
  weight decay) repeated on one batch that already sits on the device, timed after a few
  warm-up steps (``cnnbook.throughput.time_training_steps``): what the hardware can do with
  nothing around it;
* **loop**: ``cnnbook.training.fit`` on an in-memory ``TensorDataset`` of ``--n`` random
  32x32 images, its ``images_per_s`` per epoch (training pass only, as the history records it),
  **the first epoch included**, and over all epochs.

The ratio loop / raw is the loop's efficiency. ``--loader`` runs the loop a second time with
``TrainConfig(data_on_device=False)``: batches through a ``DataLoader``, as the loop did before
it kept in-memory data on the device. On a machine shared with other work the speed of a
CPU moves a lot from minute to minute, so the measurements are interleaved: ``--repeat R``
rounds of (raw, loop, [loader loop], raw), each loop compared with the mean of the raw rates
measured just before and just after it, and the median ratio over the rounds is reported.

On CUDA both use what ``fit`` uses there (bfloat16 or float16 autocast, ``channels_last``,
``cudnn.benchmark``); on the CPU float32, and ``channels_last`` only with ``--channels-last``.
Results go to ``bench/results/loop_efficiency-DEVICE.json`` (``--no-save`` to skip).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cnnbook import models  # noqa: E402
from cnnbook.throughput import time_training_steps  # noqa: E402
from cnnbook.training import TrainConfig, amp_plan, choose_device, fit, seed_everything  # noqa: E402

WIDTHS = {
    "resnet18": (64, 128, 256, 512),
    "resnet18-quarter": (16, 32, 64, 128),
    "resnet18-eighth": (8, 16, 32, 64),
}


def make_model(name: str) -> torch.nn.Module:
    seed_everything(0)
    if name == "lenet5":
        return models.lenet5()
    return models.resnet_small_images(18, 10, WIDTHS[name], in_channels=3)


def input_shape(name: str) -> tuple[int, int, int]:
    return (1, 32, 32) if name == "lenet5" else (3, 32, 32)


def raw_rate(args, device: torch.device, channels_last: bool) -> float:
    """Images per second of forward + backward + step on one resident batch."""
    model = make_model(args.model).to(device)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(args.batch, *input_shape(args.model), generator=g)
    y = torch.randint(0, 10, (args.batch,), generator=g)
    x, y = x.to(device), y.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    seconds = time_training_steps(
        model,
        x,
        y,
        steps=args.steps,
        warmup=args.warmup,
        optimizer="sgd",
        lr=0.01,
        weight_decay=5e-4,
        plan=amp_plan(device, not args.no_amp),
    )
    return args.batch / seconds


def loop_rate(args, device: torch.device, channels_last: bool, on_device: bool) -> dict:
    """fit's history on random data: images/s per epoch, and over all epochs."""
    g = torch.Generator().manual_seed(2)
    n_test = max(args.batch, args.n // 10)
    x = torch.randn(args.n, *input_shape(args.model), generator=g)
    y = torch.randint(0, 10, (args.n,), generator=g)
    xt = torch.randn(n_test, *input_shape(args.model), generator=g)
    yt = torch.randint(0, 10, (n_test,), generator=g)
    data = torch.utils.data.TensorDataset
    cfg = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch,
        lr=0.01,
        optimizer="sgd",
        weight_decay=5e-4,
        schedule="onecycle",
        device=str(device),
        amp=not args.no_amp,
        channels_last=channels_last,
        data_on_device=on_device,
        progress=False,
    )
    start = time.perf_counter()
    history = fit(make_model(args.model), data(x, y), data(xt, yt), cfg)
    wall = time.perf_counter() - start
    seconds = sum(row["seconds"] for row in history)
    return {
        "images_per_s_per_epoch": [row["images_per_s"] for row in history],
        "seconds_per_epoch": [row["seconds"] for row in history],
        "images_per_s_all_epochs": args.n * args.epochs / seconds,
        "wall_seconds_with_evaluation": wall,
    }


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: choose_device())")
    p.add_argument("--model", choices=[*WIDTHS, "lenet5"], default="resnet18-quarter")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--n", type=int, default=1024, help="training images")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--steps", type=int, default=20, help="timed raw steps")
    p.add_argument("--warmup", type=int, default=3, help="untimed raw steps")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    p.add_argument("--channels-last", action="store_true", help="also on the CPU")
    p.add_argument("--no-amp", action="store_true", help="float32 on CUDA too")
    p.add_argument("--loader", action="store_true", help="also time the DataLoader path")
    p.add_argument("--repeat", type=int, default=3, help="rounds of raw/loop measurements")
    p.add_argument("--no-save", action="store_true")
    args = p.parse_args(argv)
    os.environ.setdefault("TQDM_DISABLE", "1")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = choose_device(args.device)
    channels_last = args.channels_last or device.type == "cuda"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as fit does

    result = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "load_average_before": os.getloadavg(),
        "settings": vars(args),
        "amp": str(amp_plan(device, not args.no_amp)),
        "channels_last": channels_last,
        "rounds": [],
    }
    paths = {"on_device": True, **({"loader": False} if args.loader else {})}
    for _ in range(args.repeat):
        before = raw_rate(args, device, channels_last)
        loops = {name: loop_rate(args, device, channels_last, on) for name, on in paths.items()}
        after = raw_rate(args, device, channels_last)
        raw = (before + after) / 2
        for loop in loops.values():
            loop["efficiency_first_epoch"] = loop["images_per_s_per_epoch"][0] / raw
            loop["efficiency_all_epochs"] = loop["images_per_s_all_epochs"] / raw
        result["rounds"].append({"raw_before": before, "raw_after": after, **loops})
    result["load_average_after"] = os.getloadavg()
    rounds = result["rounds"]
    result["median_raw_images_per_s"] = statistics.median(
        (r["raw_before"] + r["raw_after"]) / 2 for r in rounds
    )
    for name in paths:
        for key in ("images_per_s_all_epochs", "efficiency_first_epoch", "efficiency_all_epochs"):
            result[f"median_{name}_{key}"] = statistics.median(r[name][key] for r in rounds)

    load = result["load_average_before"][0], result["load_average_after"][0]
    print(
        f"{args.model}, batch {args.batch}, {args.n} images x {args.epochs} epochs on "
        f"{result['device_name']} ({result['threads']} threads, load {load[0]:.1f} before, "
        f"{load[1]:.1f} after), {args.repeat} rounds"
    )
    for i, r in enumerate(rounds, 1):
        print(f"round {i}: raw {r['raw_before']:,.0f} and {r['raw_after']:,.0f} images/s")
        for name in paths:
            loop = r[name]
            epochs = ", ".join(f"{v:,.0f}" for v in loop["images_per_s_per_epoch"])
            print(
                f"  fit ({name}): {epochs} images/s per epoch: "
                f"{loop['efficiency_first_epoch']:.0%} of raw in epoch 1, "
                f"{loop['efficiency_all_epochs']:.0%} over all epochs"
            )
    print(f"median raw: {result['median_raw_images_per_s']:,.0f} images/s")
    for name in paths:
        print(
            f"median fit ({name}): {result[f'median_{name}_images_per_s_all_epochs']:,.0f} "
            f"images/s, {result[f'median_{name}_efficiency_first_epoch']:.0%} of raw in epoch "
            f"1, {result[f'median_{name}_efficiency_all_epochs']:.0%} over all epochs"
        )
    if not args.no_save:
        out = ROOT / "bench" / "results" / f"loop_efficiency-{device.type}.json"
        out.write_text(json.dumps(result, indent=1))
        print(f"wrote {out.relative_to(ROOT)}")
    return result


if __name__ == "__main__":
    main()
