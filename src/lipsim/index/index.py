"""``lipsim.Index``: a searchable, savable collection of embeddings with certified answers."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..certificates import EmbeddingBatch, radius_for_margin
from ..errors import WeightsError
from ..inputs import to_batch
from ..model import DEFAULT_EPS, LipSim
from .certify import label_of, query_intervals
from .collect import embed_files, list_images
from .duplicates import Duplicates, find_duplicates
from .embed import check_common_size, check_unit_range, embed_tensors
from .fingerprint import weights_sha256
from .search import RawHits, exact_knn, rerank
from .store import StoredEmbeddings, read_store, write_store

__all__ = ["Index", "Neighbour", "SearchResult", "resolve_threshold"]

KIND = "index"
BACKENDS = ("exact", "faiss")


def resolve_threshold(model: LipSim, threshold: float | None, size: int | None = None) -> float | None:
    """``threshold`` if given, else the weights' recommended one for the compare ``size`` (``model.threshold_at``:
    calibrated at that size when the weights carry it, ``model.threshold`` for each image at its own size), else None.
    """
    if threshold is not None:
        return float(threshold)
    t = model.threshold_at(size)
    return None if t is None else float(t)


@dataclass(frozen=True)
class Neighbour:
    """One returned neighbour of a query.

    Attributes:
        id: its id in the index.
        row: its row in the index.
        distance: d(query, it) in [0, 2].
        lower, upper: certified interval of d when the query moves by at most eps (caller pixels).
        same: d <= threshold (None without a threshold).
        radius: caller-pixel l2 radius of the query within which ``same`` cannot change (None without one).
        label: certified-same, same, different or certified-different at eps (None without a threshold).
    """

    id: str
    row: int
    distance: float
    lower: float
    upper: float
    same: bool | None
    radius: float | None
    label: str | None


@dataclass(frozen=True)
class SearchResult:
    """Neighbours of one query, nearest first, with the certified radius of the nearest one.

    Attributes:
        query: the query's name (its path, or its position for tensors).
        neighbours: the k nearest stored images.
        nn_radius: caller-pixel l2 radius within which no change of the query can change its nearest neighbour.
        exact: whether the neighbours are certainly the true k nearest (always with the exact backend).
        eps: budget of the intervals and labels.
        threshold: the threshold of ``same`` (None when neither given nor recommended by the weights).
    """

    query: str
    neighbours: list[Neighbour]
    nn_radius: float
    exact: bool
    eps: float
    threshold: float | None


def _is_pathlike(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike))


def _expand_paths(items: Sequence[Any]) -> list[str]:
    out: list[str] = []
    for p in items:
        if Path(p).is_dir():
            out.extend(list_images(p))
        else:
            out.append(str(p))
    return out


class Index:
    """Unit embeddings of images with their ids, searchable with certified answers.

    Every stored image keeps phi, the resize norm and ||f|| (what certificates need) and the index records the
    sha256 of the model's embedding function (:func:`lipsim.index.weights_sha256`): an index is only ever
    searched, extended or loaded with the model it was built with.

    Args:
        model: the metric (its weights define the index).
        threshold: tau of "same" (d <= tau) for labels; default the weights' recommended ``model.threshold``.
        backend: "exact" (blocked brute force, float64) or "faiss" (IVF candidates, exact re-ranking;
            ``pip install 'lipsim[index]'``).
        nlist, nprobe: faiss IVF settings (see :class:`lipsim.index.faiss_backend.FaissCandidates`).
        candidates: faiss candidates re-ranked per query (at least k + 1 are used).
        size: compare every image (stored and query) at one scale, short side ``size`` px, so that a copy saved
            at another resolution meets its original at the same scale; None runs each image at the size the
            model takes it (docs/retrieval.md, 'Comparing at one size'). Saved with the index.

    Example:
        >>> import lipsim, torch
        >>> model = lipsim.LipSim(pretrained=False, embed_dim=8, widths=(8, 16)).eval()
        >>> index = lipsim.Index(model, threshold=0.01)
        >>> index.add(torch.rand(3, 3, 64, 64), ids=["a", "b", "c"])
        ['a', 'b', 'c']
        >>> (hit,) = index.search(torch.rand(1, 3, 64, 64), k=2)
        >>> len(hit.neighbours), hit.nn_radius >= 0
        (2, True)
    """

    def __init__(
        self,
        model: LipSim,
        threshold: float | None = None,
        backend: str = "exact",
        *,
        nlist: int | None = None,
        nprobe: int | None = None,
        candidates: int = 32,
        size: int | None = None,
    ) -> None:
        if not isinstance(model, LipSim):
            raise TypeError(f"model must be a lipsim.LipSim, got {type(model).__name__}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
        if backend == "faiss":
            from .faiss_backend import require_faiss

            require_faiss()
        if threshold is not None and not 0.0 <= threshold <= 2.0:
            raise ValueError(f"threshold must be in [0, 2] (the range of d), got {threshold}")
        if candidates < 1:
            raise ValueError(f"candidates must be >= 1, got {candidates}")
        check_common_size(model, size)
        check_unit_range(model)
        self.size = size
        self.model = model
        self.weights_sha256 = weights_sha256(model)
        self.backend = backend
        self.nlist, self.nprobe, self.candidates = nlist, nprobe, candidates
        self._threshold = threshold
        self.ids: list[str] = []
        self._id_set: set[str] = set()
        self._emb: StoredEmbeddings | None = None
        self._faiss: Any = None
        self.skipped: list[tuple[str, str]] = []

    # ------------------------------------------------------------------ contents
    @property
    def threshold(self) -> float | None:
        """The threshold given to the index, else the weights' recommended one at the index's size, else None."""
        return resolve_threshold(self.model, self._threshold, self.size)

    @property
    def embeddings(self) -> StoredEmbeddings:
        if self._emb is None:
            raise ValueError("the index is empty: add images first")
        return self._emb

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        at = f", size={self.size}" if self.size is not None else ""
        return f"Index({len(self)} images, backend={self.backend!r}{at}, weights sha256 {self.weights_sha256[:12]})"

    def _embed(
        self, images: Any, ids: Sequence[str] | None, batch_size: int, cache: Any, progress: bool, what: str
    ) -> tuple[list[str], StoredEmbeddings | None, list[tuple[str, str]]]:
        files: list[str] | None = None
        if _is_pathlike(images):
            files = _expand_paths([images])
            if not files and Path(images).is_dir():
                raise ValueError(f"{what}: no image files in directory {str(images)!r}")
        elif isinstance(images, (list, tuple)) and images and all(_is_pathlike(p) for p in images):
            files = _expand_paths(images)
        if files is not None:
            if ids is not None:
                if len(ids) != len(files):
                    raise ValueError(f"{what}: {len(ids)} ids for {len(files)} image files")
                id_of = dict(zip(files, ids))
            r = embed_files(self.model, files, cache=cache, batch_size=batch_size, progress=progress, size=self.size)
            names = [id_of[p] for p in r.paths] if ids is not None else list(r.paths)
            return names, r.emb, r.skipped
        if isinstance(images, (list, tuple)):
            if not images:
                raise ValueError(f"{what}: empty list of images")
            batches = [to_batch(im, f"{what}[{i}]", self.model.expand_gray) for i, im in enumerate(images)]
            xs = [x for b in batches for x in b]
        else:
            xs = list(to_batch(images, what, self.model.expand_gray))
        if ids is not None and len(ids) != len(xs):
            raise ValueError(f"{what}: {len(ids)} ids for {len(xs)} images")
        names = list(ids) if ids is not None else [f"#{len(self.ids) + i}" for i in range(len(xs))]
        emb, _ = embed_tensors(self.model, xs.__getitem__, len(xs), batch_size, name=what, size=self.size)
        return names, emb, []

    def add(
        self,
        images: Any,
        ids: Sequence[str] | None = None,
        *,
        batch_size: int = 32,
        cache: str | os.PathLike[str] | None = None,
        progress: bool = False,
    ) -> list[str]:
        """Embed and add images; returns the ids added.

        Args:
            images: a folder (recursively), an image file, a list of files/folders, a tensor ((3, H, W) or
                (N, 3, H, W), floats in [0, 1] or uint8), a PIL image, or a list of tensors / PIL images.
            ids: one id per image; default the paths as given (files) or "#<position>" (tensors).
            batch_size: images per forward pass.
            cache: embedding cache file for files (only new contents are embedded).
            progress: show a progress bar (tqdm, when installed).

        Unreadable files are skipped and listed in ``index.skipped`` as (path, reason). An id already in the
        index is an error.
        """
        names, emb, skipped = self._embed(images, ids, batch_size, cache, progress, "images")
        self.skipped.extend(skipped)
        self.add_embeddings(emb, names)
        return names

    def add_embeddings(self, emb: StoredEmbeddings | EmbeddingBatch | None, ids: Sequence[str]) -> None:
        """Add embeddings computed with this index's model (row i gets ids[i])."""
        if emb is None:
            if ids:
                raise ValueError(f"{len(ids)} ids given without embeddings")
            return
        if isinstance(emb, EmbeddingBatch):
            emb = StoredEmbeddings.from_batch(emb)
        if len(ids) != len(emb):
            raise ValueError(f"{len(ids)} ids for {len(emb)} embeddings")
        seen: set[str] = set()
        for i in ids:
            if not isinstance(i, str):
                raise TypeError(f"ids must be strings, got {type(i).__name__}: {i!r}")
            if i in self._id_set or i in seen:
                raise ValueError(f"id {i!r} is already in the index; ids must be unique")
            seen.add(i)
        if self._emb is not None and emb.phi.shape[1] != self._emb.phi.shape[1]:
            raise ValueError(
                f"embeddings of size {emb.phi.shape[1]} do not fit this index (size {self._emb.phi.shape[1]})"
            )
        self._emb = emb if self._emb is None else self._emb.concat(emb)
        self.ids.extend(ids)
        self._id_set.update(ids)
        self._faiss = None

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the embeddings (``path``, safetensors) and ids + weights sha256 (JSON side file), atomically.

        ``x.safetensors`` gets the side file ``x.json``; any other name gets ``name.json``.
        """
        e = self.embeddings
        meta = {
            "kind": KIND,
            "weights_sha256": self.weights_sha256,
            "ids": self.ids,
            "constant_coordinate": e.constant_appended,
            "threshold": self._threshold,
            "size": self.size,
            "model": {"arch": self.model.arch, "source": self.model.source, "image_size": self.model.image_size},
        }
        write_store(path, {"phi": e.phi, "pnorm": e.resize_norm, "fnorm": e.feature_norm}, meta)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str], model: LipSim, backend: str = "exact", **kwargs: Any) -> Index:
        """Read an index written by :meth:`save`; refuses one built with other weights.

        Raises:
            WeightsError: ``model`` is not the model the index was built with.
            ValueError / FileNotFoundError: missing, torn or foreign files.
        """
        tensors, meta = read_store(path, "index")
        if meta.get("kind") != KIND:
            raise ValueError(f"{str(path)!r} is a lipsim {meta.get('kind')!r} file, not an index")
        index = cls(model, threshold=meta.get("threshold"), backend=backend, size=meta.get("size"), **kwargs)
        if meta.get("weights_sha256") != index.weights_sha256:
            built = meta.get("model", {}).get("source") or meta.get("model", {}).get("arch", "?")
            raise WeightsError(
                f"index {str(path)!r} was built with other weights (sha256 {str(meta.get('weights_sha256'))[:12]}..., "
                f"{built}) than the model given (sha256 {index.weights_sha256[:12]}..., {model.source or 'untrained'});"
                " load it with the weights it was built with, or rebuild it"
            )
        try:
            e = StoredEmbeddings(tensors["phi"], tensors["pnorm"], tensors["fnorm"], bool(meta["constant_coordinate"]))
            ids = list(meta["ids"])
        except KeyError as k:
            raise ValueError(f"index {str(path)!r} lacks {k}; rebuild it") from None
        index.add_embeddings(e, ids)
        return index

    # ------------------------------------------------------------------ queries
    def search(
        self, queries: Any, k: int = 5, eps: float = DEFAULT_EPS, threshold: float | None = None, batch_size: int = 32
    ) -> list[SearchResult]:
        """The k nearest stored images of each query, with certified intervals, labels and the NN radius.

        Args:
            queries: image files, a folder, tensors or PIL images (as for :meth:`add`); files must be readable.
            k: neighbours per query (at most the index size).
            eps: l2 budget of the query (caller pixels) for the intervals and labels.
            threshold: tau of "same"; default the index's.
            batch_size: images per forward pass.
        """
        names, emb, skipped = self._embed(queries, None, batch_size, None, False, "query")
        if skipped:
            p, why = skipped[0]
            raise ValueError(f"query {p!r} is unreadable: {why}")
        if emb is None:
            raise ValueError("no query images")
        return self.search_embeddings(emb.batch(), k, eps, threshold, names)

    def search_embeddings(
        self,
        eq: EmbeddingBatch,
        k: int = 5,
        eps: float = DEFAULT_EPS,
        threshold: float | None = None,
        names: Sequence[str] | None = None,
    ) -> list[SearchResult]:
        """:meth:`search` for query embeddings computed with this index's model."""
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        db = self.embeddings
        tau = resolve_threshold(self.model, threshold if threshold is not None else self._threshold, self.size)
        if tau is not None and not 0.0 <= tau <= 2.0:
            raise ValueError(f"threshold must be in [0, 2] (the range of d), got {tau}")
        if eq.phi.shape[1] != db.phi.shape[1]:
            raise ValueError(f"query embeddings have size {eq.phi.shape[1]}, the index {db.phi.shape[1]}")
        k = min(k, len(db))
        hits = self._knn(eq.phi, k)
        lower, upper, radius = query_intervals(eq, hits.s, eps, tau)
        q64 = EmbeddingBatch(eq.phi.double(), eq.feature_norm.double(), eq.resize_norm.double(), eq.constant_appended)
        r_nn = radius_for_margin(q64, hits.nn_radius_phi.clamp_max(4.0))
        r_nn = torch.where(torch.isinf(hits.nn_radius_phi), torch.full_like(r_nn, math.inf), r_nn)
        names = list(names) if names is not None else [f"#{i}" for i in range(eq.phi.shape[0])]
        out = []
        for qi in range(eq.phi.shape[0]):
            nbs = []
            for c in range(hits.rows.shape[1]):
                row = int(hits.rows[qi, c])
                s = float(hits.s[qi, c])
                same = rad = label = None
                if tau is not None:
                    same = s <= (2.0 * tau) ** 0.5
                    rad = float(radius[qi, c])
                    label = label_of(same, rad > eps)
                nbs.append(
                    Neighbour(
                        self.ids[row], row, 0.5 * s * s, float(lower[qi, c]), float(upper[qi, c]), same, rad, label
                    )
                )
            out.append(SearchResult(names[qi], nbs, float(r_nn[qi]), bool(hits.exact[qi]), float(eps), tau))
        return out

    def _knn(self, q: torch.Tensor, k: int) -> RawHits:
        db = self.embeddings.phi
        if self.backend == "exact":
            return exact_knn(q, db, k)
        if self._faiss is None:
            from .faiss_backend import FaissCandidates

            self._faiss = FaissCandidates(db, self.nlist, self.nprobe)
        cand, lower = self._faiss.search(q, min(len(db), max(self.candidates, k + 1)))
        return rerank(q, db, cand, lower, k)

    def duplicates(
        self, threshold: float | None = None, eps: float = DEFAULT_EPS, group_pairs: bool = True
    ) -> Duplicates:
        """Near-duplicate pairs and groups of the indexed images (see :func:`lipsim.index.find_duplicates`)."""
        tau = resolve_threshold(self.model, threshold if threshold is not None else self._threshold, self.size)
        if tau is None:
            raise ValueError("no threshold: the weights recommend none; pass threshold=")
        return find_duplicates(self.embeddings, tau, eps, group_pairs)
