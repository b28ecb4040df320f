"""The course's training loop: reproducible, resumable, and choosing devices correctly."""

import math

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from cnnbook import batches, training
from cnnbook.training import (
    HISTORY_FIELDS,
    AmpPlan,
    TrainConfig,
    amp_plan,
    choose_device,
    fit,
    load_checkpoint,
    seed_everything,
)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: a second thread only adds waiting, a lot of it on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_data(n_train=96, n_test=40, features=8, seed=0):
    """Two Gaussian blobs per class, 3 classes: learnable in a few epochs."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(3, features, generator=g) * 2

    def draw(n):
        y = torch.arange(n) % 3
        return TensorDataset(centres[y] + torch.randn(n, features, generator=g), y)

    return draw(n_train), draw(n_test)


def tiny_model(seed=0):
    seed_everything(seed)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))


def config(**overrides):
    base = dict(
        epochs=3, batch_size=16, lr=0.05, schedule="onecycle", seed=1, device="cpu", progress=False
    )
    return TrainConfig(**{**base, **overrides})


def weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_same_seed_same_run():
    train, test = tiny_data()
    runs = []
    for _ in range(2):
        model = tiny_model()
        history = fit(model, train, test, config())
        runs.append(([row["train_loss"] for row in history], weights(model)))
    (loss_a, w_a), (loss_b, w_b) = runs
    assert loss_a == loss_b
    assert all(torch.equal(w_a[k], w_b[k]) for k in w_a)


def test_other_seed_other_run():
    train, test = tiny_data()
    a = fit(tiny_model(), train, test, config(seed=1))
    b = fit(tiny_model(), train, test, config(seed=2))
    assert [r["train_loss"] for r in a] != [r["train_loss"] for r in b]


def test_history_fields_and_learning():
    train, test = tiny_data()
    history = fit(tiny_model(), train, test, config(epochs=4))
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]
    for row in history:
        assert tuple(row) == HISTORY_FIELDS
        assert all(math.isfinite(v) for v in row.values())
        assert 0 <= row["train_acc"] <= 1 and 0 <= row["test_acc"] <= 1
        assert row["seconds"] > 0 and row["images_per_s"] > 0
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["test_acc"] > 0.8


class Interrupt(Exception):
    pass


def test_resume_after_interruption_matches_uninterrupted_run(tmp_path):
    train, test = tiny_data()
    whole = tiny_model()
    history_whole = fit(whole, train, test, config(epochs=4))

    path = tmp_path / "run.pt"

    def stop_after_two(row):
        if row["epoch"] == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        fit(
            tiny_model(),
            train,
            test,
            config(epochs=4, checkpoint=path),
            on_epoch_end=stop_after_two,
        )
    assert load_checkpoint(path)["epoch"] == 2
    resumed = tiny_model(seed=123)  # other initial weights: the checkpoint must replace them
    torch.manual_seed(999)  # and other RNG state: the checkpoint restores it
    history_resumed = fit(resumed, train, test, config(epochs=4, checkpoint=path))

    assert [r["epoch"] for r in history_resumed] == [1, 2, 3, 4]
    assert [r["train_loss"] for r in history_resumed] == [r["train_loss"] for r in history_whole]
    w_whole, w_resumed = weights(whole), weights(resumed)
    assert all(torch.equal(w_whole[k], w_resumed[k]) for k in w_whole)
    assert not path.with_name(path.name + ".tmp").exists()


def test_resume_refuses_another_configuration(tmp_path):
    train, test = tiny_data()
    path = tmp_path / "run.pt"
    fit(tiny_model(), train, test, config(epochs=1, checkpoint=path))
    with pytest.raises(ValueError, match="lr"):
        fit(tiny_model(), train, test, config(epochs=1, lr=0.1, checkpoint=path))


def test_progress_bar_silent_when_tqdm_disabled(monkeypatch, capfd):
    train, test = tiny_data()
    monkeypatch.setenv("TQDM_DISABLE", "1")
    fit(tiny_model(), train, test, config(epochs=1, progress=True))
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_progress_bar_shows_throughput(monkeypatch, capfd):
    train, test = tiny_data()
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    fit(tiny_model(), train, test, config(epochs=1, progress=True))
    out, err = capfd.readouterr()
    assert "images/s" in out + err


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"), [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")]
)
def test_choose_device(monkeypatch, cuda, mps, expected):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert choose_device() == torch.device(expected)


def test_choose_device_overrides(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert choose_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert choose_device() == torch.device("cpu")
    assert choose_device("cuda:1") == torch.device("cuda:1")  # the argument wins


@pytest.mark.parametrize(
    ("bf16", "expected"),
    [(True, AmpPlan(torch.bfloat16, False)), (False, AmpPlan(torch.float16, True))],
)
def test_amp_plan_on_cuda(monkeypatch, bf16, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    assert amp_plan(torch.device("cuda")) == expected
    assert amp_plan(torch.device("cuda"), enabled=False) == AmpPlan(None, False)


def test_amp_off_on_cpu_and_mps():
    for device in ("cpu", "mps"):
        plan = amp_plan(torch.device(device))
        assert not plan.enabled and not plan.use_scaler


def test_unknown_optimizer_and_schedule():
    model = tiny_model()
    with pytest.raises(ValueError, match="optimizer"):
        training.make_optimizer(model, config(optimizer="lion"))
    opt = training.make_optimizer(model, config())
    with pytest.raises(ValueError, match="schedule"):
        training.make_scheduler(opt, config(schedule="step"), 10)


def test_loader_order_depends_only_on_seed_and_epoch():
    train, _ = tiny_data()
    device = torch.device("cpu")

    def order(epoch):
        loader = batches.make_loader(train, 16, train=True, seed=5, device=device)
        sampler = batches.epoch_sampler(loader)
        sampler.set_epoch(epoch)
        return torch.cat([y for _, y in loader]).tolist(), list(sampler)

    assert order(3) == order(3)
    assert order(3) != order(4)
    assert sorted(order(3)[1]) == list(range(len(train)))


def test_loader_for_other_datasets_gives_the_same_batches():
    train, _ = tiny_data()

    class Plain(torch.utils.data.Dataset):  # not a TensorDataset: examples one by one
        def __len__(self):
            return len(train)

        def __getitem__(self, i):
            return train[i]

    device = torch.device("cpu")
    fast = batches.make_loader(train, 16, train=True, seed=5, device=device)
    slow = batches.make_loader(Plain(), 16, train=True, seed=5, device=device)
    for loader in (fast, slow):
        batches.epoch_sampler(loader).set_epoch(2)
    for (xa, ya), (xb, yb) in zip(fast, slow, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
