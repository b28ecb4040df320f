"""Reference computations for the ``visualizing`` assignment (chapter 15).

The test cells of ``solutions/visualizing/visualizing.ipynb`` compare the learner's functions
with these. Every function takes one image ``x`` as a NumPy array ``(C, H, W)`` and a PyTorch
classifier ``model`` that maps ``(N, C, H, W)`` to class scores ``(N, K)`` (logits, before the
softmax); ``x`` is converted to the dtype of the model's parameters. Every result is a NumPy
array; the model is never changed (no parameter gets a ``.grad``).

* ``saliency_map``: ``S[h, w] = max_c |d s_t / d x[c, h, w]|``, shape ``(H, W)``;
* ``occlusion_sensitivity``: ``D[i, j] = p_t(x) - p_t(x with patch (i, j) set to fill)``,
  shape ``((H - patch) // stride + 1, (W - patch) // stride + 1)``; patch ``(i, j)`` covers
  rows ``i*stride ... i*stride + patch - 1`` and columns ``j*stride ... j*stride + patch - 1``
  of every channel; no padding, so no patch crosses the border (the last rows or columns are
  never covered when ``(H - patch) % stride != 0``);
* ``integrated_gradients``: ``(x - x0) * mean_k grad s_t(x0 + a_k (x - x0))`` with the
  midpoints ``a_k = (k + 1/2) / steps``, shape ``(C, H, W)``;
* ``activation_maximization``: ``steps`` steps of gradient ascent on
  ``s_t(x) - l2 * sum(x**2)`` from ``x = 0``, ``x <- x + lr * grad``, shape ``(C, H, W)``;
* ``grad_cam``: for the maps ``A = model[:split](x)`` of shape ``(K, h, w)``, the weights
  ``alpha_k = mean_ij d s_t / d A_k(i, j)`` and ``ReLU(sum_k alpha_k A_k)``, shape ``(h, w)``
  (Selvaraju et al., 2017; chapter 15's ``eq-grad-cam``). ``model`` is an ``nn.Sequential``.

Here ``s_t`` is the score of class ``t = target`` and ``p_t = softmax(s)_t`` its probability.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def _as_batch(model: nn.Module, x: np.ndarray) -> torch.Tensor:
    dtype = next(model.parameters()).dtype
    return torch.tensor(np.asarray(x)[None], dtype=dtype)


def _input_gradient(model: nn.Module, batch: torch.Tensor, target: int) -> torch.Tensor:
    """d s_target / d input for every image of ``batch`` (scores of different images do not
    interact, so the gradient of their sum is each image's own gradient)."""
    batch = batch.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(batch)[:, target].sum(), batch)
    return grad


def saliency_map(model: nn.Module, x: np.ndarray, target: int) -> np.ndarray:
    """``max_c |d s_target / d x[c]|``, shape ``(H, W)``."""
    grad = _input_gradient(model, _as_batch(model, x), target)[0]
    return grad.abs().amax(dim=0).numpy()


def occlusion_positions(size: int, patch: int, stride: int) -> np.ndarray:
    """First row (or column) of every patch: ``0, stride, ...`` while the patch fits."""
    return np.arange((size - patch) // stride + 1) * stride


@torch.no_grad()
def occlusion_sensitivity(
    model: nn.Module, x: np.ndarray, target: int, patch: int = 4, stride: int = 2, fill: float = 0.0
) -> np.ndarray:
    """Drop of the target's probability when one patch is replaced by ``fill``."""
    image = _as_batch(model, x)[0]
    rows = occlusion_positions(image.shape[1], patch, stride)
    cols = occlusion_positions(image.shape[2], patch, stride)
    occluded = image.repeat(len(rows) * len(cols), 1, 1, 1)
    for n, (r, c) in enumerate((r, c) for r in rows for c in cols):
        occluded[n, :, r : r + patch, c : c + patch] = fill
    p_clean = torch.softmax(model(image[None]), dim=1)[0, target]
    p_occluded = torch.softmax(model(occluded), dim=1)[:, target]
    return (p_clean - p_occluded).reshape(len(rows), len(cols)).numpy()


def integrated_gradients(
    model: nn.Module,
    x: np.ndarray,
    target: int,
    baseline: np.ndarray | None = None,
    steps: int = 32,
) -> np.ndarray:
    """Integrated gradients with the midpoint rule, shape ``(C, H, W)``."""
    image = _as_batch(model, x)[0]
    start = torch.zeros_like(image) if baseline is None else _as_batch(model, baseline)[0]
    alphas = (torch.arange(steps, dtype=image.dtype) + 0.5) / steps
    path = start + alphas[:, None, None, None] * (image - start)
    grads = _input_gradient(model, path, target)
    return ((image - start) * grads.mean(dim=0)).numpy()


def activation_maximization(
    model: nn.Module,
    target: int,
    shape: tuple[int, int, int],
    steps: int = 50,
    lr: float = 0.1,
    l2: float = 0.01,
) -> np.ndarray:
    """Gradient ascent on ``s_target(x) - l2 * sum(x**2)`` from zeros, shape ``shape``."""
    dtype = next(model.parameters()).dtype
    x = torch.zeros((1, *shape), dtype=dtype)
    for _ in range(steps):
        x = x.detach().requires_grad_(True)
        objective = model(x)[0, target] - l2 * (x**2).sum()
        (grad,) = torch.autograd.grad(objective, x)
        x = x + lr * grad
    return x.detach()[0].numpy()


def grad_cam(model: nn.Sequential, split: int, x: np.ndarray, target: int) -> np.ndarray:
    """Grad-CAM of class ``target`` at the maps after ``model[:split]``, shape ``(h, w)``."""
    with torch.no_grad():
        maps = model[:split](_as_batch(model, x))
    maps = maps.detach().clone().requires_grad_(True)  # (1, K, h, w)
    (grads,) = torch.autograd.grad(model[split:](maps)[0, target], maps)
    alpha = grads.mean(dim=(2, 3), keepdim=True)  # (1, K, 1, 1)
    return torch.relu((alpha * maps).sum(dim=1))[0].detach().numpy()
