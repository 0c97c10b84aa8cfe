"""Embedding cache: image content sha256 x weights sha256 -> embedding, in one safetensors + JSON pair."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .store import StoredEmbeddings, read_store, write_store

__all__ = ["EmbeddingCache"]

KIND = "embedding-cache"


class EmbeddingCache:
    """Embeddings keyed by the sha256 of an image file's bytes, one section per weights sha256.

    A re-run over a folder embeds only the files whose content is not in the section of the current weights;
    sections of other weights are kept untouched. :meth:`save` rewrites the pair of files atomically, so an
    interrupted run leaves the previous cache intact.

    Args:
        path: the safetensors file (the JSON side file is next to it); need not exist yet.
        weights_sha256: the section to read and write (:func:`lipsim.index.weights_sha256`).

    Example:
        >>> import tempfile, torch
        >>> c = EmbeddingCache(tempfile.mkdtemp() + "/cache.safetensors", "ab" * 32)
        >>> e = StoredEmbeddings(torch.eye(2), torch.ones(2), torch.ones(2), True)
        >>> c.put(["k1", "k2"], e); c.save()
        >>> found, got = EmbeddingCache(c.path, "ab" * 32).get(["k2", "k3"])
        >>> found, got.phi.tolist()
        ([True, False], [[0.0, 1.0]])
    """

    def __init__(self, path: str | os.PathLike[str], weights_sha256: str) -> None:
        self.path = Path(path)
        self.weights_sha256 = weights_sha256
        self._sections: dict[str, tuple[list[str], StoredEmbeddings]] = {}
        self._dirty = False
        if self.path.exists():
            self._read()
        keys, _ = self._sections.get(weights_sha256, ([], None))
        self._pos = {k: i for i, k in enumerate(keys)}

    def _read(self) -> None:
        tensors, meta = read_store(self.path, "embedding cache")
        if meta.get("kind") != KIND:
            raise ValueError(f"{str(self.path)!r} is a lipsim {meta.get('kind')!r} file, not an embedding cache")
        for i, (sha, sec) in enumerate(sorted(meta.get("sections", {}).items())):
            try:
                e = StoredEmbeddings(
                    tensors[f"s{i}.phi"],
                    tensors[f"s{i}.pnorm"],
                    tensors[f"s{i}.fnorm"],
                    bool(sec["constant_coordinate"]),
                )
                keys = list(sec["keys"])
            except KeyError as k:
                raise ValueError(
                    f"embedding cache {str(self.path)!r} lacks {k} for weights {sha[:12]}; delete it to rebuild"
                ) from None
            if len(keys) != len(e):
                raise ValueError(
                    f"embedding cache {str(self.path)!r}: {len(keys)} keys for {len(e)} embeddings "
                    f"(weights {sha[:12]}); delete it to rebuild"
                )
            self._sections[sha] = (keys, e)

    def __len__(self) -> int:
        return len(self._pos)

    def __contains__(self, key: str) -> bool:
        return key in self._pos

    def get(self, keys: list[str]) -> tuple[list[bool], StoredEmbeddings | None]:
        """Which keys are cached (for the current weights), and the embeddings of those that are, in order."""
        found = [k in self._pos for k in keys]
        rows = [self._pos[k] for k in keys if k in self._pos]
        if not rows:
            return found, None
        return found, self._sections[self.weights_sha256][1].select(rows)

    def put(self, keys: list[str], emb: StoredEmbeddings) -> None:
        """Add embeddings (row i belongs to keys[i]); keys already cached are left as they are."""
        if len(keys) != len(emb):
            raise ValueError(f"{len(keys)} keys for {len(emb)} embeddings")
        seen, new = set(self._pos), []
        for i, k in enumerate(keys):
            if k not in seen:
                seen.add(k)
                new.append(i)
        if not new:
            return
        old_keys, old = self._sections.get(self.weights_sha256, ([], None))
        add = emb.select(new)
        merged = add if old is None else old.concat(add)
        all_keys = old_keys + [keys[i] for i in new]
        self._sections[self.weights_sha256] = (all_keys, merged)
        self._pos = {k: i for i, k in enumerate(all_keys)}
        self._dirty = True

    def save(self) -> None:
        """Write the cache (all sections) when something was added; atomic per file."""
        if not self._dirty:
            return
        tensors: dict[str, torch.Tensor] = {}
        sections = {}
        for i, (sha, (keys, e)) in enumerate(sorted(self._sections.items())):
            tensors.update({f"s{i}.phi": e.phi, f"s{i}.pnorm": e.resize_norm, f"s{i}.fnorm": e.feature_norm})
            sections[sha] = {"keys": keys, "constant_coordinate": e.constant_appended}
        write_store(self.path, tensors, {"kind": KIND, "sections": sections})
        self._dirty = False
