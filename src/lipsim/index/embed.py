"""Embedding images in batches through ``LipSim.embed_batch``, with per-image resize norms (and a common size)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import torch

from ..certificates import EmbeddingBatch
from ..image_io import load_image
from ..model import LipSim
from ..resize import MAX_RESIZE_SIDE, resize, resize_operator_norm
from .store import StoredEmbeddings

__all__ = ["check_common_size", "check_unit_range", "common_size", "to_model_input", "embed_tensors"]


def common_size(hw: tuple[int, int], short_side: int) -> tuple[int, int]:
    """(h, w) scaled so that its short side is ``short_side``, aspect kept (rounded, at least 1 px).

    Example:
        >>> common_size((256, 512), 128), common_size((300, 200), 100)
        ((128, 256), (150, 100))
    """
    h, w = hw
    s = short_side / min(h, w)
    return (max(1, round(h * s)), max(1, round(w * s)))


def check_unit_range(model: LipSim) -> None:
    """Raise a ValueError unless ``model`` takes float pixels in [0, 1] (the range files are read in here).

    Indexes, caches and the command line read images as [0, 1] tensors and store radii in those units.
    """
    low, high = model.value_range
    if (low, high) != (0.0, 1.0):
        raise ValueError(
            f"indexes and embedding caches need a model with the default value_range (0, 1), got one with "
            f"value_range=({low:g}, {high:g}); build it with lipsim.LipSim(...) without value_range"
        )


def check_common_size(model: LipSim, size: int | None) -> None:
    """Raise a ValueError unless ``size`` is None or a positive short side that ``model`` can be given."""
    if size is None:
        return
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive number of pixels (the short side) or None, got {size!r}")
    if size > MAX_RESIZE_SIDE:
        raise ValueError(
            f"size must be at most {MAX_RESIZE_SIDE} px (lipsim.resize.MAX_RESIZE_SIDE, the longest side a resize "
            f"produces), got {size}"
        )
    if not model.resize_inputs:
        raise ValueError(
            f"size={size} needs a model that resizes its inputs (this {model.arch} model takes one fixed size)"
        )


def to_model_input(model: LipSim, image: torch.Tensor, size: int | None = None) -> tuple[torch.Tensor, float]:
    """(3, h, w) image -> the image at the size the network takes it, and the operator norm of that resize.

    With ``model.resize_inputs`` every image is resized here (as ``model.prepare`` would, then clamped to
    [0, 1]) so that images of any sizes share one batch; the returned norm is the resize operator norm
    ``model.prepare`` would have used for it alone.
    Without it the image is returned as is (``model.prepare`` then checks its size).

    ``size`` first brings every image to one scale (short side ``size``, :func:`common_size`), so that a copy
    saved at another resolution is compared at the same scale as its original. The two resizes compose: the
    returned norm is the product of their operator norms (docs/retrieval.md, 'Comparing at one size').
    """
    check_common_size(model, size)
    if not model.resize_inputs:
        return image, 1.0
    hw = (int(image.shape[-2]), int(image.shape[-1]))
    norm = 1.0
    if size is not None:
        scaled = common_size(hw, size)
        if scaled != hw:
            norm = resize_operator_norm(hw, scaled)  # first: it refuses sizes outside the limits (ImageError)
            image = resize(image[None], scaled)[0].clamp(0, 1)
            hw = scaled
    h, w = model.backbone.network_size(hw)  # what model.prepare would resize this image to
    net_size = (int(h), int(w))
    if net_size == hw:
        return image, norm
    norm *= resize_operator_norm(hw, net_size)  # before resizing, as above
    # float rounding in the antialiased resize can overshoot [0, 1] by an ulp; clamping is 1-Lipschitz, so the
    # resize norm still bounds how far a change of the caller's image moves the network input
    return resize(image[None], net_size)[0].clamp(0, 1), norm


@torch.no_grad()
def _embed_group(model: LipSim, xs: list[torch.Tensor], resize_norms: list[float], name: str) -> EmbeddingBatch:
    e = model.embed_batch(torch.stack(xs), name)
    # The images are already at the network's size, so model.embed_batch did not resize them (its resize_norm
    # is the network's own bound); the resize done by to_model_input composes with it: caller pixels -> phi is
    # ||P|| * resize_norm-Lipschitz.
    pn = torch.as_tensor(resize_norms, dtype=e.resize_norm.dtype, device=e.resize_norm.device)
    return dataclasses.replace(e, resize_norm=e.resize_norm * pn)


def embed_tensors(
    model: LipSim,
    load: Callable[[int], torch.Tensor],
    n: int,
    batch_size: int = 32,
    on_error: Callable[[int, Exception], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
    name: str = "image",
    size: int | None = None,
) -> tuple[StoredEmbeddings | None, list[int]]:
    """Embed ``n`` images given by ``load(i)`` ((3, h, w) tensors), ``batch_size`` at a time.

    Args:
        model: the metric.
        load: returns image i; a ValueError/OSError from it skips the image (reported to ``on_error``), any
            other exception propagates.
        n: number of images.
        batch_size: images per forward pass.
        on_error: called with (i, exception) for each skipped image; None re-raises instead.
        on_batch: called with the number of images done after each batch (progress).
        name: how the images are called in error messages.
        size: compare at one scale: short side ``size`` px first (:func:`to_model_input`).

    Returns:
        The embeddings of the images that loaded (None when none did) and their positions in 0..n-1.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    check_unit_range(model)
    parts: list[StoredEmbeddings] = []
    done: list[int] = []
    pending: dict[tuple[int, int], tuple[list[int], list[torch.Tensor], list[float]]] = {}

    def flush(key: tuple[int, int]) -> None:
        idx, xs, pn = pending.pop(key)
        parts.append(StoredEmbeddings.from_batch(_embed_group(model, xs, pn, name)))
        done.extend(idx)
        if on_batch is not None:
            on_batch(len(idx))

    for i in range(n):
        try:
            x, pn = to_model_input(model, load(i), size)
        except (ValueError, OSError) as e:
            if on_error is None:
                raise
            on_error(i, e)
            if on_batch is not None:
                on_batch(1)
            continue
        key = (int(x.shape[-2]), int(x.shape[-1]))
        group = pending.setdefault(key, ([], [], []))
        group[0].append(i)
        group[1].append(x)
        group[2].append(pn)
        if len(group[0]) >= batch_size:
            flush(key)
    for key in list(pending):
        flush(key)
    if not parts:
        return None, []
    out = parts[0]
    for p in parts[1:]:
        out = out.concat(p)
    order = sorted(range(len(done)), key=done.__getitem__)
    return out.select(order), sorted(done)


def load_file(path: str) -> torch.Tensor:
    """(3, h, w) float image from a file (ValueError/FileNotFoundError when unreadable)."""
    return load_image(path)


def embed_paths(
    model: LipSim, paths: Sequence[str], batch_size: int = 32, on_error=None, on_batch=None, size: int | None = None
) -> tuple[StoredEmbeddings | None, list[int]]:
    """:func:`embed_tensors` over image files."""
    return embed_tensors(model, lambda i: load_file(paths[i]), len(paths), batch_size, on_error, on_batch, size=size)
