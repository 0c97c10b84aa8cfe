"""Leave-one-out cosine k-NN classification: how much of "what is in the picture" an embedding keeps.

Each image is a query against all the others (database = the same set minus the query); top-1 is the
share whose nearest neighbour (cosine) has the query's label. Chance is about ``1 / classes``.

Example:
    >>> e = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> knn_top1(e, torch.tensor([0, 0, 1, 1]))
    1.0
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["knn_top1"]


@torch.no_grad()
def knn_top1(embeddings: torch.Tensor, labels: torch.Tensor, block: int = 1024) -> float:
    """Leave-one-out top-1 accuracy of cosine nearest-neighbour retrieval, computed in row blocks."""
    if embeddings.ndim != 2 or labels.shape != (embeddings.shape[0],):
        raise ValueError(
            f"expected (N, k) embeddings and (N,) labels, got {tuple(embeddings.shape)} and {tuple(labels.shape)}"
        )
    e = F.normalize(embeddings.double(), dim=1)
    hits = 0
    for i in range(0, e.shape[0], block):
        sim = e[i : i + block] @ e.T
        rows = torch.arange(sim.shape[0])
        sim[rows, rows + i] = -float("inf")  # never the query itself
        hits += int((labels[sim.argmax(dim=1)] == labels[i : i + block]).sum())
    return hits / e.shape[0]


@torch.no_grad()
def folder_knn_top1(model, images_dir, batch_size: int = 256) -> dict:
    """k-NN top-1 of ``model``'s embedding on the photos under ``images_dir``, labelled by parent folder.

    Images of one size are embedded in batches as they are (the model resizes them as it would any input).
    Returns ``{"top1", "n", "classes", "chance"}``.
    """
    from .data.image_files import ImageFiles, pil_to_uint8

    files = ImageFiles(images_dir)
    names = [f.parent.name for f in files.files]
    classes = sorted(set(names))
    if len(classes) < 2:
        raise ValueError(f"k-NN needs photos in at least two class folders under {str(images_dir)!r}")
    labels = torch.tensor([classes.index(c) for c in names])
    phis: list[torch.Tensor] = []
    batch: list[torch.Tensor] = []

    def flush() -> None:
        if batch:
            phis.append(model.embed(torch.stack(batch)).float())
            batch.clear()

    for i in range(len(files.files)):
        x = pil_to_uint8(files.image(i))
        if batch and (x.shape != batch[0].shape or len(batch) == batch_size):
            flush()
        batch.append(x)
    flush()
    return {
        "top1": knn_top1(torch.cat(phis), labels),
        "n": len(names),
        "classes": len(classes),
        "chance": max(names.count(c) for c in classes) / len(names),
    }
