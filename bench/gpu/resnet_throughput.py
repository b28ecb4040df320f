"""ResNet-18 (full width, 32x32) on one device: raw fwd+bwd images/s vs the course loop (`fit`).

    PYTHONPATH=$PWD python3 bench/gpu/resnet_throughput.py      # on a CUDA machine
    DEV=cpu N=1024 B=64 STEPS=2 EPOCHS=1 PYTHONPATH=$PWD python3 bench/gpu/resnet_throughput.py

The measurement that produced the H200 figures quoted in chapter 18 (raw 48,473 images/s,
41,542 compiled; the loop of the time 8,860 / 28,833 / 31,299 images/s in epochs 1-3). It is
the shared script of that run with one change: it imports the book's package, ``cnnbook``,
only (the fallback to the grader's old ``autograder.course`` is gone), and ``fit`` trains on
``DEV`` (it chose its own device before). ``fit`` itself has
changed since (data kept on the device, no per-step wait), so the loop's figures it prints now
are the new loop's. ``bench/loop_efficiency.py`` measures the same two rates with options.
Environment: DEV (cuda), N (50000 images), B (512), STEPS (30 timed raw steps), EPOCHS (3).
"""

import json
import os
import time

import torch
from torch.utils.data import TensorDataset

from cnnbook import models
from cnnbook.training import TrainConfig, fit

dev = torch.device(os.environ.get("DEV", "cuda"))
N = int(os.environ.get("N", "50000"))
STEPS = int(os.environ.get("STEPS", "30"))
SYNC = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
res = {
    "torch": torch.__version__,
    "gpu": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
}


def raw(batch, steps=STEPS, compile_=False):
    net = models.resnet_small_images(18, 10, (64, 128, 256, 512), in_channels=3)
    net = net.to(dev).to(memory_format=torch.channels_last)
    if compile_:
        net = torch.compile(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    x = torch.randn(batch, 3, 32, 32, device=dev).to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), device=dev)
    warmup = min(10, steps)
    for i in range(steps + warmup):
        if i == warmup:
            SYNC()
            t = time.perf_counter()
        with torch.autocast(dev.type, dtype=torch.bfloat16):
            loss = torch.nn.functional.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    SYNC()
    return batch * steps / (time.perf_counter() - t)


B = int(os.environ.get("B", "512"))
res["raw_bf16_cl_b512"] = raw(B)
try:
    res["raw_bf16_cl_b512_compiled"] = raw(B, compile_=True) if dev.type == "cuda" else None
except Exception as e:  # noqa: BLE001 - report, do not stop the measurement
    res["raw_compiled_error"] = repr(e)[:300]
g = torch.Generator().manual_seed(0)
x = torch.randn(N, 3, 32, 32, generator=g)
y = torch.randint(0, 10, (N,), generator=g)
xt = torch.randn(N // 5, 3, 32, 32, generator=g)
yt = torch.randint(0, 10, (N // 5,), generator=g)
net = models.resnet_small_images(18, 10, (64, 128, 256, 512), in_channels=3)
cfg = TrainConfig(
    epochs=int(os.environ.get("EPOCHS", "3")),
    batch_size=B,
    lr=0.4,
    optimizer="sgd",
    weight_decay=5e-4,
    schedule="onecycle",
    progress=False,
    device=str(dev),
)
t = time.perf_counter()
hist = fit(net, TensorDataset(x, y), TensorDataset(xt, yt), cfg)
res["fit_wall_s"] = time.perf_counter() - t
res["fit_history"] = hist
res["fit_images_per_s_last_epoch"] = hist[-1]["images_per_s"]
res["loop_efficiency"] = hist[-1]["images_per_s"] / res["raw_bf16_cl_b512"]
print(json.dumps(res, indent=1, default=str))
out = os.path.join(os.environ.get("OUT", "/tmp"), "throughput.json")
with open(out, "w") as f:
    json.dump(res, f, indent=1, default=str)
