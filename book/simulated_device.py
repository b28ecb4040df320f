"""A simulated accelerator on the CPU: catches the code that works on a CPU and fails on a GPU.

On a real GPU, a tensor lives either on the GPU or on the CPU, and an operation that mixes
them fails (``RuntimeError: Expected all tensors to be on the same device``, ``Input type
(torch.FloatTensor) and weight type (torch.cuda.FloatTensor) should be the same``), as does
turning a GPU tensor into a NumPy array. On a CPU-only machine every tensor is on the CPU, so
such code runs, and the bug shows only on the first machine with a GPU.

``simulated_device("mps")`` makes a device that PyTorch code can use like a real one: inside
it, ``torch.device("mps")`` (and ``COURSE_DEVICE``, which the course's ``choose_device``
reads) names a simulated accelerator. Tensors moved there (``.to(device)``, ``device=`` of a
factory function, ``model.to(device)``) are CPU tensors of the class :class:`OnDevice`, which
report ``device == mps:0`` and keep that class through every operation. A
``TorchFunctionMode`` then applies the rules of a real device:

* an operation whose tensors are on both devices raises :class:`DeviceMismatch` (a CPU tensor
  with zero dimensions is allowed, as on CUDA);
* a tensor indexed by indices on the other device raises (indices on the CPU may index a device
  tensor; device indices may not index a CPU tensor);
* ``.numpy()`` and ``numpy.asarray`` of a device tensor raise ``TypeError``, as on a GPU;
* a CPU ``torch.Generator`` used to draw numbers on the device raises;
* float64 tensors on the device raise ``TypeError`` (Apple's GPUs have no float64).

Copies between the devices (``.to``, ``.cpu()``, ``copy_``, assigning into a CPU tensor)
work as they do on a GPU. Gradients of device tensors are device tensors. Nothing runs faster
or slower than on the CPU apart from the checking, which costs some microseconds per operation.
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Iterator

import torch
from torch.overrides import TorchFunctionMode
from torch.utils import _pytree as pytree

# Only Apple's type: simulating "cuda" would also need CUDA's libraries (autocast, GradScaler,
# pinned memory), which a CPU-only PyTorch disables with warnings. The device rules are the same.
SIMULATED_TYPES = ("mps",)


class DeviceMismatch(RuntimeError):
    """An operation mixed tensors of the simulated device and of the CPU."""


class OnDevice(torch.Tensor):
    """A CPU tensor standing for a tensor on the simulated device (results of operations on it
    are ``OnDevice`` too: ``torch.Tensor``'s default ``__torch_function__`` keeps the class)."""

    def __deepcopy__(self, memo: dict) -> OnDevice:
        # torch.Tensor's own __deepcopy__ refuses subclasses without new_empty (copy.deepcopy of
        # a model on the device, as chapter 15 does): copy the data, keep the class and flags.
        if id(self) in memo:
            return memo[id(self)]
        with torch._C.DisableTorchFunctionSubclass():
            data = self.detach().clone().as_subclass(OnDevice)
        data.requires_grad_(self.requires_grad)
        data.__dict__.update(copy.deepcopy(self.__dict__, memo))
        memo[id(self)] = data
        return data


def _is_device_tensor(value: object) -> bool:
    return isinstance(value, OnDevice)


def _is_cpu_tensor(value: object) -> bool:
    return isinstance(value, torch.Tensor) and not isinstance(value, OnDevice)


def _device_type(device: object) -> str | None:
    """The type of a ``device=`` argument (``"cuda"``, ``"cpu"``...), None for anything else."""
    if isinstance(device, torch.device):
        return device.type
    if isinstance(device, str):
        return torch.device(device).type
    if isinstance(device, int):  # an index means the current accelerator
        return "index"
    return None


# Functions that take tensors of both devices on a real GPU too.
_MAY_MIX = {torch.Tensor.copy_, torch._has_compatible_shallow_copy_type}


class _SimulatedDeviceMode(TorchFunctionMode):
    def __init__(self, device_type: str):
        super().__init__()
        self.type = device_type
        self.device = torch.device(device_type, 0)

    # -- helpers -------------------------------------------------------------------------------

    def _is_sim(self, device: object) -> bool:
        kind = _device_type(device)
        return kind == self.type or kind == "index"

    def _wrap(self, out):
        """Mark every tensor of ``out`` as living on the device."""

        def mark(t):
            if isinstance(t, torch.Tensor) and not isinstance(t, OnDevice):
                with torch._C.DisableTorchFunctionSubclass():
                    t = t.as_subclass(OnDevice)
            if isinstance(t, OnDevice) and self.type == "mps" and t.dtype == torch.float64:
                raise TypeError(
                    "Cannot convert a MPS Tensor to float64 dtype as the MPS framework doesn't "
                    "support float64. Please use float32 instead. (simulated device)"
                )
            return t

        return pytree.tree_map(mark, out)

    @staticmethod
    def _unwrap(out):
        def plain(t):
            if isinstance(t, OnDevice):
                with torch._C.DisableTorchFunctionSubclass():
                    t = t.as_subclass(torch.Tensor)
            return t

        return pytree.tree_map(plain, out)

    def _mismatch(self, name: str, cpu: torch.Tensor) -> DeviceMismatch:
        return DeviceMismatch(
            f"Expected all tensors to be on the same device, but found at least two devices, "
            f"{self.device} and cpu! ({name} got a CPU tensor of shape {tuple(cpu.shape)} "
            f"and a tensor on the simulated {self.type} device)"
        )

    # -- the rules -------------------------------------------------------------------------------

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        name = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
        first = args[0] if args else None

        # Where a tensor lives.
        if func == torch.Tensor.device.__get__:
            return self.device if _is_device_tensor(first) else func(*args, **kwargs)
        if func == torch.Tensor.is_cpu.__get__:
            return not _is_device_tensor(first)
        if func == torch.Tensor.is_cuda.__get__:
            return _is_device_tensor(first) and self.type == "cuda"
        if func == torch.Tensor.is_mps.__get__:
            return _is_device_tensor(first) and self.type == "mps"

        # Gradients of device tensors live on the device.
        if func in (torch.Tensor.grad.__get__, torch.Tensor._grad.__get__):
            out = func(*args, **kwargs)
            return self._wrap(out) if out is not None and _is_device_tensor(first) else out
        if func is torch.autograd.grad:
            inputs = args[1] if len(args) > 1 else kwargs["inputs"]
            inputs = (inputs,) if isinstance(inputs, torch.Tensor) else tuple(inputs)
            self._check_mixed(name, (args, kwargs))
            grads = func(*args, **kwargs)
            return tuple(
                self._wrap(g) if g is not None and _is_device_tensor(x) else g
                for g, x in zip(grads, inputs, strict=True)
            )

        # No NumPy view of device memory.
        if func in (torch.Tensor.numpy, torch.Tensor.__array__) and _is_device_tensor(first):
            raise TypeError(
                f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to "
                "copy the tensor to host memory first. (simulated device)"
            )

        # Moves between the devices.
        if func in (torch.Tensor.to, torch.Tensor.cpu, torch.Tensor.cuda):
            return self._move(func, args, kwargs)
        if func in _MAY_MIX:
            return func(*args, **kwargs)

        # Indexing: CPU indices may index a device tensor, not the other way round.
        if func in (torch.Tensor.__getitem__, torch.Tensor.__setitem__):
            index = args[1]
            if _is_cpu_tensor(first) and any(
                _is_device_tensor(t) for t in pytree.tree_leaves(index)
            ):
                raise DeviceMismatch(
                    "indices should be either on cpu or on the same device as the indexed "
                    "tensor (cpu) (simulated device)"
                )
            return func(*args, **kwargs)

        # Factory functions and anything else given a device.
        device = kwargs.get("device")
        on_sim = device is not None and self._is_sim(device)
        if on_sim:
            kwargs["device"] = "cpu"
        self._check_generator(
            name,
            kwargs,
            on_sim or any(_is_device_tensor(t) for t in pytree.tree_leaves((args, kwargs))),
        )
        self._check_mixed(name, (args, kwargs))
        out = func(*args, **kwargs)
        if on_sim:
            return self._wrap(out)
        if device is not None and _device_type(device) == "cpu":
            return self._unwrap(out)
        return self._wrap(out) if self._touches_device(args, kwargs) else out

    @staticmethod
    def _touches_device(args, kwargs) -> bool:
        return any(_is_device_tensor(t) for t in pytree.tree_leaves((args, kwargs)))

    def _check_mixed(self, name, tree) -> None:
        leaves = [t for t in pytree.tree_leaves(tree) if isinstance(t, torch.Tensor)]
        if not any(_is_device_tensor(t) for t in leaves):
            return
        for t in leaves:
            if _is_cpu_tensor(t) and t.dim() > 0:
                raise self._mismatch(name, t)

    def _check_generator(self, name, kwargs, on_sim: bool) -> None:
        generator = kwargs.get("generator")
        if on_sim and isinstance(generator, torch.Generator) and generator.device.type == "cpu":
            raise DeviceMismatch(
                f"Expected a '{self.type}' device type for generator but found 'cpu' "
                f"({name}, simulated device)"
            )

    def _move(self, func, args, kwargs):
        source = args[0]
        was_sim = _is_device_tensor(source)
        if func is torch.Tensor.cpu:
            to_sim = False
        elif func is torch.Tensor.cuda:
            to_sim = self.type == "cuda"
            if not to_sim:
                raise DeviceMismatch(f"Tensor.cuda() on a machine whose device is {self.type}")
            func, args, kwargs = torch.Tensor.to, (source, "cpu"), {}
        else:
            rest = list(args[1:])
            target = None
            if rest and isinstance(rest[0], torch.Tensor):  # .to(other): other's device, dtype
                other = rest[0]
                to_sim = _is_device_tensor(other)
                with torch._C.DisableTorchFunctionSubclass():
                    rest[0] = torch.empty((), dtype=other.dtype)
            else:
                if rest and _device_type(rest[0]) is not None:
                    target = rest[0]
                    rest[0] = "cpu"
                elif "device" in kwargs and kwargs["device"] is not None:
                    target = kwargs["device"]
                    kwargs["device"] = "cpu"
                to_sim = was_sim if target is None else self._is_sim(target)
            args = (source, *rest)
        with torch._C.DisableTorchFunctionSubclass():
            out = func(*args, **kwargs)
            if out is source and to_sim != was_sim:
                out = out.clone()  # a move between devices always copies
        return self._wrap(out) if to_sim else self._unwrap(out)


@contextlib.contextmanager
def simulated_device(device_type: str = "mps") -> Iterator[torch.device]:
    """Inside: ``torch.device(device_type)`` is a simulated accelerator kept apart from the
    CPU, and ``COURSE_DEVICE`` names it (so ``cnnbook.training.choose_device()`` returns it).
    Yields the device."""
    if device_type not in SIMULATED_TYPES:
        raise ValueError(f"device_type must be one of {SIMULATED_TYPES}, got {device_type!r}")
    saved_env = os.environ.get("COURSE_DEVICE")
    os.environ["COURSE_DEVICE"] = device_type
    real_apply = torch.nn.Module._apply

    def apply_swapping(module, fn, recurse=True):
        # model.to(device) then replaces each parameter's contents by the moved tensor, class
        # included, so that the parameters become OnDevice (see torch.nn.Module._apply).
        saved = torch.__future__.get_swap_module_params_on_conversion()
        torch.__future__.set_swap_module_params_on_conversion(True)
        try:
            return real_apply(module, fn, recurse)
        finally:
            torch.__future__.set_swap_module_params_on_conversion(saved)

    torch.nn.Module._apply = apply_swapping
    # Waiting for the device (timers do) has nothing to wait for.
    backend = getattr(torch, device_type)
    saved_sync = backend.synchronize
    backend.synchronize = lambda *args, **kwargs: None
    try:
        with _SimulatedDeviceMode(device_type):
            yield torch.device(device_type)
    finally:
        backend.synchronize = saved_sync
        torch.nn.Module._apply = real_apply
        if saved_env is None:
            os.environ.pop("COURSE_DEVICE", None)
        else:
            os.environ["COURSE_DEVICE"] = saved_env


def on_device(t: object) -> bool:
    """True for a tensor that lives on the simulated device."""
    return _is_device_tensor(t)
