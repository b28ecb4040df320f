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
it kept in-memory data on the device. On CUDA both use what ``fit`` uses there (bfloat16 or
float16 autocast, ``channels_last``, ``cudnn.benchmark``); on the CPU float32, and
``channels_last`` only with ``--channels-last``. Results go to
``bench/results/loop_efficiency-DEVICE.json`` (``--no-save`` to skip).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
    p.add_argument("--n", type=int, default=2048, help="training images")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--steps", type=int, default=20, help="timed raw steps")
    p.add_argument("--warmup", type=int, default=3, help="untimed raw steps")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    p.add_argument("--channels-last", action="store_true", help="also on the CPU")
    p.add_argument("--no-amp", action="store_true", help="float32 on CUDA too")
    p.add_argument("--loader", action="store_true", help="also time the DataLoader path")
    p.add_argument("--no-save", action="store_true")
    args = p.parse_args(argv)
    os.environ.setdefault("TQDM_DISABLE", "1")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = choose_device(args.device)
    channels_last = args.channels_last or device.type == "cuda"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as fit does

    raw = raw_rate(args, device, channels_last)
    result = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "load_average": os.getloadavg(),
        "settings": vars(args),
        "amp": str(amp_plan(device, not args.no_amp)),
        "channels_last": channels_last,
        "raw_images_per_s": raw,
    }
    paths = {"on_device": True, **({"loader": False} if args.loader else {})}
    for name, on_device in paths.items():
        loop = loop_rate(args, device, channels_last, on_device)
        loop["efficiency_first_epoch"] = loop["images_per_s_per_epoch"][0] / raw
        loop["efficiency_all_epochs"] = loop["images_per_s_all_epochs"] / raw
        result[name] = loop
    # The raw rate again, after the loops: the machine may have got busier or quieter.
    result["raw_images_per_s_after"] = raw_rate(args, device, channels_last)

    load = result["load_average"][0]
    print(
        f"{args.model}, batch {args.batch}, {args.n} images x {args.epochs} epochs on "
        f"{result['device_name']} ({result['threads']} threads, load {load:.1f})"
    )
    print(
        f"raw forward+backward+step: {raw:,.0f} images/s "
        f"({result['raw_images_per_s_after']:,.0f} when measured again at the end)"
    )
    for name in paths:
        loop = result[name]
        epochs = ", ".join(f"{v:,.0f}" for v in loop["images_per_s_per_epoch"])
        print(
            f"fit ({name}): {epochs} images/s per epoch; {loop['images_per_s_all_epochs']:,.0f} "
            f"over all epochs: {loop['efficiency_first_epoch']:.0%} of raw in epoch 1, "
            f"{loop['efficiency_all_epochs']:.0%} over all epochs"
        )
    if not args.no_save:
        out = ROOT / "bench" / "results" / f"loop_efficiency-{device.type}.json"
        out.write_text(json.dumps(result, indent=1))
        print(f"wrote {out.relative_to(ROOT)}")
    return result


if __name__ == "__main__":
    main()
