"""The simulated accelerator (book.simulated_device): it must fail where a real GPU fails, and
only there. And the course's loop and helpers, run on it, must keep every tensor where it
belongs."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from book.simulated_device import DeviceMismatch, on_device, simulated_device
from cnnbook import throughput
from cnnbook.training import TrainConfig, choose_device, fit, seed_everything


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_net():
    seed_everything(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 3)
    )


# --- what a real device refuses, the simulated one refuses ------------------------------------


def test_a_model_on_the_device_refuses_cpu_inputs():
    """Chapter 15's crash on the H200: `model` on the GPU, `x_test` left on the CPU."""
    with simulated_device() as device:
        model = small_net().to(device)
        assert all(on_device(p) for p in model.parameters())
        assert all(on_device(b) for b in model.buffers())
        assert next(model.parameters()).device == torch.device("mps", 0)
        x = torch.randn(5, 1, 8, 8)
        with pytest.raises(DeviceMismatch, match="same device"):
            model(x)
        assert model(x.to(device)).shape == (5, 3)  # moved: fine


@pytest.mark.parametrize(
    "mix",
    [
        lambda d: torch.ones(3, device=d) + torch.ones(3),
        lambda d: torch.cat([torch.ones(3, device=d), torch.ones(3)]),
        lambda d: torch.nn.functional.cross_entropy(
            torch.ones(2, 3, device=d), torch.zeros(2).long()
        ),
        lambda d: torch.ones(3)[torch.tensor([0, 1], device=d)],  # device indices, CPU tensor
        lambda d: torch.randint(0, 3, (2,), device=d, generator=torch.Generator()),
    ],
    ids=["add", "cat", "loss", "index", "generator"],
)
def test_mixing_the_devices_fails(mix):
    with simulated_device() as device, pytest.raises(DeviceMismatch):
        mix(device)


def test_numpy_needs_the_cpu():
    with simulated_device() as device:
        t = torch.ones(3, device=device)
        with pytest.raises(TypeError, match="Use Tensor.cpu"):
            t.numpy()
        with pytest.raises(TypeError, match="Use Tensor.cpu"):
            np.asarray(t)
        assert t.cpu().numpy().tolist() == [1.0, 1.0, 1.0]
        assert not on_device(t.cpu())


def test_mps_has_no_float64():
    with simulated_device("mps") as device, pytest.raises(TypeError, match="float64"):
        torch.from_numpy(np.zeros(3)).to(device)  # NumPy's default dtype


@pytest.mark.parametrize(
    "allowed",
    [
        lambda d: torch.ones(3, device=d) * torch.tensor(2.0),  # a CPU scalar is fine
        lambda d: torch.ones(3, device=d)[torch.tensor([0, 2])],  # CPU indices on the device
        lambda d: torch.zeros(3).copy_(torch.ones(3, device=d)),  # copies cross devices
        lambda d: torch.ones(2, device=d).sum().item() + float(torch.ones((), device=d)),
        lambda d: torch.ones(2, 2, device=d).tolist(),
    ],
    ids=["scalar", "cpu-index", "copy", "item", "tolist"],
)
def test_what_a_gpu_allows_is_allowed(allowed):
    with simulated_device() as device:
        allowed(device)


def test_results_and_gradients_stay_on_the_device():
    with simulated_device() as device:
        model = small_net().to(device)
        x = torch.randn(4, 1, 8, 8).to(device).requires_grad_(True)
        loss = model(x).logsumexp(1).mean()
        assert on_device(loss) and on_device(torch.zeros_like(x)) and on_device(x[0])
        (grad,) = torch.autograd.grad(loss, x, retain_graph=True)
        assert on_device(grad)
        loss.backward()
        assert on_device(model[0].weight.grad)
        model.cpu()
        assert not any(on_device(p) for p in model.parameters())


def test_the_environment_is_restored(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    with simulated_device():
        assert choose_device() == torch.device("mps")
    assert choose_device() == torch.device("cpu")
    with pytest.raises(ValueError, match="device_type"):
        with simulated_device("tpu"):
            pass


# --- the course's loop and helpers on the device ------------------------------------------------


def image_data(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = torch.randn(n, 1, 8, 8, generator=g) + y[:, None, None, None].float()
    return TensorDataset(x, y)


class Plain(torch.utils.data.Dataset):
    """Not a TensorDataset: batches come through a DataLoader."""

    def __init__(self, data):
        self.data = data

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        return self.data[i]


@pytest.mark.parametrize("wrap", [lambda d: d, Plain], ids=["tensors", "dataset"])
def test_fit_on_the_device_gives_the_cpu_run(wrap):
    """Same batches, same numbers: the simulated device computes on the CPU, so a run there
    must equal a run on the CPU, and the model must end on the device."""
    from cnnbook.augment import shift_and_flip

    train, test = image_data(), image_data(24, seed=1)
    cfg = TrainConfig(epochs=2, batch_size=16, lr=0.01, progress=False, seed=3)
    cpu_model = small_net()
    on_cpu = fit(cpu_model, wrap(train), wrap(test), cfg, augment=shift_and_flip(1, True))
    with simulated_device():
        model = small_net()
        on_dev = fit(model, wrap(train), wrap(test), cfg, augment=shift_and_flip(1, True))
        assert all(on_device(p) for p in model.parameters())
    for a, b in zip(on_cpu, on_dev, strict=True):
        assert a["train_loss"] == b["train_loss"] and a["test_acc"] == b["test_acc"]


def test_fastest_device_and_operation_count_on_the_device():
    model = small_net()
    before = [p.detach().clone() for p in model.parameters()]
    state = torch.get_rng_state()
    with simulated_device() as device:
        best, seconds = throughput.fastest_device(model, torch.zeros(1, 8, 8), 8, steps=2)
        assert set(seconds) == {"mps", "cpu"} and best in (torch.device("cpu"), device)
        assert all(s > 0 for s in seconds.values())
    assert torch.equal(torch.get_rng_state(), state)  # no random number consumed
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    # conv, bn, relu, flatten, linear forward and backward, the loss, AdamW on 6 tensors
    assert 30 < throughput.operations_per_step(model, torch.zeros(1, 8, 8), 8) < 400
