"""The course's training script under torchrun: two CPU processes (gloo) train in step and take
the same steps as one process on the same global batches."""

import os
import subprocess
import sys

import pytest
import torch

from cnnbook import ddp
from cnnbook import train as train_script

ARGS = [
    "--dataset",
    "digits",
    "--model",
    "mlp",
    "--epochs",
    "1",
    "--batch-size",
    "64",
    "--limit",
    "256",
    "--lr",
    "0.01",
    "--schedule",
    "constant",
    "--seed",
    "3",
]


def test_helpers_outside_a_process_group():
    assert (ddp.rank(), ddp.world_size(), ddp.is_main()) == (0, 1, True)
    t = torch.tensor([1.0, 2.0])
    assert ddp.all_reduce_sum(t) is t


def test_setup_needs_torchrun(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(RuntimeError, match="torchrun"):
        ddp.setup()


@pytest.mark.slow
def test_two_cpu_processes_match_one(tmp_path, monkeypatch):
    env = {
        **os.environ,
        "GLOO_SOCKET_IFNAME": "lo",
        "MASTER_ADDR": "127.0.0.1",
        "OMP_NUM_THREADS": "1",
        "TQDM_DISABLE": "1",
    }
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "cnnbook.train",
        *ARGS,
        "--save-weights",
        str(tmp_path / "ddp"),
        "--checkpoint",
        str(tmp_path / "c.pt"),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 process(es)" in done.stdout
    rank0 = torch.load(tmp_path / "ddp" / "rank0.pt")
    rank1 = torch.load(tmp_path / "ddp" / "rank1.pt")
    # In step: DDP gives both replicas the same averaged gradient, hence the same weights.
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name
    assert torch.load(tmp_path / "c.pt", weights_only=False)["epoch"] == 1  # rank 0 saved it

    # One process, batches of 64 = the union of the two ranks' batches of 32.
    monkeypatch.setenv("TQDM_DISABLE", "1")
    model_holder = {}
    real_fit = train_script.fit

    def keep_model(model, *args, **kwargs):
        model_holder["model"] = model
        return real_fit(model, *args, **kwargs)

    monkeypatch.setattr(train_script, "fit", keep_model)
    train_script.main(ARGS)
    single = model_holder["model"].state_dict()
    assert not torch.equal(single["linear1.weight"], train_script.MLP(64).linear1.weight)
    # Equal up to float rounding: the two sums of 32 gradients are added in another order,
    # and Adam divides by sqrt(v), which magnifies the last bits of tiny gradients.
    for name in single:
        torch.testing.assert_close(rank0[name], single[name], rtol=1e-4, atol=2e-5)


# --- batch normalization: where one process and DDP part ways ---------------------------------

BN_ARGS = [*ARGS[: ARGS.index("--model")], "--model", "cnn", *ARGS[ARGS.index("--model") + 2 :]]


def torchrun(tmp_path, *args):
    env = {
        **os.environ,
        "GLOO_SOCKET_IFNAME": "lo",
        "MASTER_ADDR": "127.0.0.1",
        "OMP_NUM_THREADS": "1",
        "TQDM_DISABLE": "1",
    }
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "cnnbook.train",
        *args,
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def relative_difference(a, b):
    return ((a - b).norm() / a.norm()).item()


@pytest.mark.slow
def test_two_cpu_processes_with_batch_norm_do_not_match_one(tmp_path, monkeypatch):
    """With batch norm each process normalizes its own half of every batch: the replicas stay
    in step (same averaged gradient), but their running statistics differ, and their weights
    are not one process's weights on the same batches."""
    done = torchrun(tmp_path, *BN_ARGS, "--save-weights", str(tmp_path / "ddp"))
    assert done.returncode == 0, done.stdout + done.stderr
    rank0 = torch.load(tmp_path / "ddp" / "rank0.pt")
    rank1 = torch.load(tmp_path / "ddp" / "rank1.pt")
    weights = [k for k in rank0 if k.endswith(("weight", "bias"))]
    running = [k for k in rank0 if "running_" in k]
    assert weights and running
    for name in weights:
        assert torch.equal(rank0[name], rank1[name]), name  # in step
    assert any(not torch.equal(rank0[k], rank1[k]) for k in running)  # each its own statistics

    monkeypatch.setenv("TQDM_DISABLE", "1")
    torch.set_num_threads(1)
    train_script.main([*BN_ARGS, "--save-weights", str(tmp_path / "one")])
    single = torch.load(tmp_path / "one" / "rank0.pt")
    # Far beyond the rounding that separated the MLP runs (rtol 1e-4) in the test above.
    gap = max(relative_difference(single[k], rank0[k]) for k in weights)
    assert gap > 1e-3, gap


@pytest.mark.slow
def test_sync_batchnorm_is_refused_on_cpu_processes(tmp_path):
    done = torchrun(tmp_path, *BN_ARGS, "--sync-batchnorm")
    assert done.returncode != 0
    assert "SyncBatchNorm needs GPUs and the NCCL backend" in done.stdout + done.stderr


def test_sync_batchnorm_in_one_process_is_batch_norm(tmp_path, monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    torch.set_num_threads(1)
    args = [*BN_ARGS, "--limit", "64", "--batch-size", "32"]
    train_script.main([*args, "--save-weights", str(tmp_path / "bn")])
    train_script.main([*args, "--sync-batchnorm", "--save-weights", str(tmp_path / "sync")])
    bn = torch.load(tmp_path / "bn" / "rank0.pt")
    sync = torch.load(tmp_path / "sync" / "rank0.pt")
    assert bn.keys() == sync.keys()
    assert all(torch.equal(bn[k], sync[k]) for k in bn)
    assert ddp.sync_batchnorm_supported()
    converted = ddp.sync_batchnorm(train_script.DilatedResNet(8, length=40))  # chapter 17's network
    assert any(isinstance(m, torch.nn.SyncBatchNorm) for m in converted.modules())
