"""Batches for the training loop: in-memory data on the device, or any data set through a loader.

``make_batches`` picks ``DeviceBatches`` for a ``TensorDataset`` (copied to the device once;
each batch is one gather with a slice of the epoch's permutation) and ``LoaderBatches`` for any
other ``Dataset`` (a ``DataLoader``, worker processes and pinned memory on CUDA). Both give the
same batches in the same order: the order of epoch ``e`` depends only on ``(seed, e)``, the
order of a ``DistributedSampler`` reseeded each epoch (``epoch_order``), so a run is
reproducible, resumable, and the same under ``torchrun``.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    DistributedSampler,
    Sampler,
    SequentialSampler,
    TensorDataset,
)

from cnnbook import ddp


def make_loader(
    dataset: Dataset,
    batch_size: int,
    *,
    train: bool,
    seed: int,
    device: torch.device,
    num_workers: int | None = None,
) -> DataLoader:
    """A loader over this process's share of ``dataset``.

    Training loaders shuffle with a ``DistributedSampler`` (``rank``/``world_size`` from
    ``ddp``; one replica outside ``torchrun``): call ``epoch_sampler(loader).set_epoch(e)`` before
    epoch ``e``, and the order is ``randperm(len(dataset))`` seeded with ``seed + e``. Test
    loaders go through the whole set in order in every process.
    """
    on_cuda = device.type == "cuda"
    workers = (4 if on_cuda else 0) if num_workers is None else num_workers
    if train:
        order = DistributedSampler(
            dataset, num_replicas=ddp.world_size(), rank=ddp.rank(), shuffle=True, seed=seed
        )
        batch_size //= ddp.world_size()
    else:
        order = SequentialSampler(dataset)
    common = dict(num_workers=workers, pin_memory=on_cuda, persistent_workers=workers > 0)
    if isinstance(dataset, TensorDataset):
        # Tensors in memory: fetch a whole batch with one indexing operation, 4x faster than
        # fetching the examples one by one and stacking them.
        batches = BatchSampler(order, batch_size, drop_last=False)
        return DataLoader(dataset, sampler=batches, batch_size=None, **common)
    return DataLoader(dataset, batch_size=batch_size, sampler=order, **common)


def epoch_sampler(loader: DataLoader) -> Sampler:
    """The sampler that orders the examples of ``loader`` (call its ``set_epoch``)."""
    sampler = loader.sampler
    return sampler.sampler if isinstance(sampler, BatchSampler) else sampler


def epoch_order(n: int, seed: int, epoch: int, rank: int = 0, world_size: int = 1) -> torch.Tensor:
    """The indices that process ``rank`` of ``world_size`` trains on in epoch ``epoch``, in order:
    a permutation of ``range(n)`` drawn from a generator seeded with ``seed + epoch``, padded by
    repeating its start to a multiple of ``world_size``, then every ``world_size``-th index from
    ``rank`` on. This is exactly the order of ``DistributedSampler(shuffle=True, seed=seed)``
    after ``set_epoch(epoch)``. A CPU ``int64`` tensor of ``ceil(n / world_size)`` indices."""
    g = torch.Generator()
    g.manual_seed(seed + epoch)
    order = torch.randperm(n, generator=g)
    total = -(-n // world_size) * world_size
    if total > n:
        order = order.repeat(-(-(total - n) // n) + 1)[:total]
    return order[rank:total:world_size]


def _draw_like_a_loader() -> None:
    """Draw one number from PyTorch's global generator, as a ``DataLoader`` does each time an
    iterator over it is made (it seeds its workers with it). ``DeviceBatches`` does the same, so
    the random numbers of a run (augmentation, dropout) do not depend on how its batches are
    made, and a run gives the same numbers as with the loader."""
    torch.empty((), dtype=torch.int64).random_()


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last)


class DeviceBatches:
    """Batches of an in-memory data set that lives on the device.

    The dataset's tensors are copied to ``device`` once (on the CPU they are used as they are).
    Training batches are ``x[order[i : i + b]]`` with ``order = epoch_order(...)`` moved to the
    device at the start of each epoch: one gather per batch, on the device. Test batches are
    consecutive slices, in order. Call ``set_epoch(e)`` before epoch ``e``; iterating yields
    ``(x, y)`` on the device, ``x`` in ``channels_last`` when asked."""

    def __init__(
        self,
        dataset: TensorDataset,
        batch_size: int,
        *,
        train: bool,
        seed: int,
        device: torch.device,
        channels_last: bool = False,
    ):
        self.x, self.y = (t.to(device) for t in dataset.tensors)
        self.n = len(self.x)
        self.train, self.seed, self.device = train, seed, device
        self.channels_last = channels_last
        self.epoch = 0
        if train:
            self.batch_size = batch_size // ddp.world_size()
            self.per_rank = -(-self.n // ddp.world_size())
        else:
            self.batch_size, self.per_rank = batch_size, self.n

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-self.per_rank // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        _draw_like_a_loader()  # when iter() is called, as a DataLoader does
        return self._batches()

    def _batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if self.train:
            order = epoch_order(self.n, self.seed, self.epoch, ddp.rank(), ddp.world_size())
            order = order.to(self.device, non_blocking=True)
        for start in range(0, self.per_rank, self.batch_size):
            if self.train:
                rows = order[start : start + self.batch_size]
                x, y = self.x[rows], self.y[rows]
            else:
                x, y = (
                    self.x[start : start + self.batch_size],
                    self.y[start : start + self.batch_size],
                )
            yield (_channels_last(x) if self.channels_last else x), y


class LoaderBatches:
    """Batches of any ``Dataset`` through a ``DataLoader`` (``make_loader``), moved to the device
    one by one; the same interface as ``DeviceBatches``."""

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        *,
        train: bool,
        seed: int,
        device: torch.device,
        channels_last: bool = False,
        num_workers: int | None = None,
    ):
        self.loader = make_loader(
            dataset, batch_size, train=train, seed=seed, device=device, num_workers=num_workers
        )
        self.train, self.device, self.channels_last = train, device, channels_last

    def set_epoch(self, epoch: int) -> None:
        if self.train:
            epoch_sampler(self.loader).set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self._moved(iter(self.loader))

    def _moved(self, batches) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for x, y in batches:
            x = x.to(self.device, non_blocking=True)
            yield (
                (_channels_last(x) if self.channels_last else x),
                y.to(self.device, non_blocking=True),
            )


def make_batches(
    dataset: Dataset,
    batch_size: int,
    *,
    train: bool,
    seed: int,
    device: torch.device,
    channels_last: bool = False,
    num_workers: int | None = None,
    on_device: bool | None = None,
) -> DeviceBatches | LoaderBatches:
    """``DeviceBatches`` for a ``TensorDataset`` (unless ``on_device=False``), else
    ``LoaderBatches``. Both give the same batches in the same order."""
    if on_device is None:
        on_device = isinstance(dataset, TensorDataset)
    if on_device:
        if not isinstance(dataset, TensorDataset):
            raise ValueError(
                f"data_on_device=True needs a TensorDataset, got {type(dataset).__name__}"
            )
        return DeviceBatches(
            dataset, batch_size, train=train, seed=seed, device=device, channels_last=channels_last
        )
    return LoaderBatches(
        dataset,
        batch_size,
        train=train,
        seed=seed,
        device=device,
        channels_last=channels_last,
        num_workers=num_workers,
    )
