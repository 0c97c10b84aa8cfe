"""A sha256 that identifies the embedding function of a model: weights, architecture and phi variant."""

from __future__ import annotations

import hashlib
import json

import torch

from ..model import LipSim

__all__ = ["weights_sha256", "embedding_key"]


def weights_sha256(model: LipSim) -> str:
    """Hex sha256 of everything that decides ``model.embeddings``: the tensors, the arch and the phi variant.

    It hashes the state dict (names, dtypes, shapes and bytes, in name order) plus the arch, its config, the
    constant-coordinate variant, the resize flag and the resolution. Two models give the same embeddings on
    the same input exactly when these agree, whatever file the weights were read from; a float64 copy of a
    float32 model has another sha256 (its embeddings differ in the last bits).

    Args:
        model: any LipSim, pretrained or not.

    Example:
        >>> import lipsim
        >>> a = lipsim.LipSim(pretrained=False, embed_dim=8, widths=(8, 16))
        >>> weights_sha256(a) == weights_sha256(a) and len(weights_sha256(a)) == 64
        True
    """
    h = hashlib.sha256()
    header = {
        "arch": model.arch,
        "arch_config": model.backbone.config,
        "constant_coordinate": model.constant_coordinate,
        "resize": bool(model.resize_inputs),
        "image_size": model.image_size,
    }
    h.update(json.dumps(header, sort_keys=True, default=str).encode())
    for name, t in sorted(model.state_dict().items()):
        t = t.detach().to("cpu").contiguous()
        h.update(f"\n{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def embedding_key(model: LipSim, size: int | None = None) -> str:
    """:func:`weights_sha256`, or for embeddings made at one common scale (short side ``size``) a key of both.

    Embedding caches keep one section per key, so embeddings made at different scales never mix.

    Example:
        >>> import lipsim
        >>> m = lipsim.LipSim(pretrained=False, embed_dim=8, widths=(8, 16))
        >>> embedding_key(m) == weights_sha256(m), embedding_key(m, 128) == embedding_key(m, 96)
        (True, False)
    """
    sha = weights_sha256(model)
    if size is None:
        return sha
    return hashlib.sha256(f"{sha}|short-side={int(size)}".encode()).hexdigest()
