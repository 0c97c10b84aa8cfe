"""Embedding a list of image files once: content hashing, the cache, unreadable files, torchrun shards."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..model import LipSim
from ..pretrained.safetensors_io import sha256_file
from .cache import EmbeddingCache
from .embed import embed_paths
from .fingerprint import embedding_key
from .progress import Progress
from .shards import Shard, wait_for_shards, work_id, write_shard
from .store import StoredEmbeddings

__all__ = ["FileEmbeddings", "embed_files", "list_images", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})


def list_images(directory: str | os.PathLike[str]) -> list[str]:
    """Image files (by suffix) under ``directory``, recursively, sorted; paths joined onto the name as given.

    Raises:
        FileNotFoundError / NotADirectoryError: ``directory`` is missing or a file.
    """
    d = Path(directory)
    if not d.exists():
        raise FileNotFoundError(f"no such directory: {str(directory)!r}")
    if not d.is_dir():
        raise NotADirectoryError(f"expected a directory of images, got a file: {str(directory)!r}")
    return sorted(
        str(p)
        for p in d.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(d).parts)
    )


@dataclass
class FileEmbeddings:
    """What :func:`embed_files` made of a list of files.

    Attributes:
        paths: the files that were embedded, in input order, as given.
        emb: their embeddings (row i is paths[i]); None when no file could be read.
        skipped: (path, reason) of every unreadable file.
        computed: how many distinct images were embedded now (the rest came from the cache or duplicates).
        only_shard: True on a rank > 0 under torchrun: it embedded its shard and handed it over; the other
            fields are empty there.
    """

    paths: list[str]
    emb: StoredEmbeddings | None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    computed: int = 0
    only_shard: bool = False


def _reason(e: Exception) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def embed_files(
    model: LipSim,
    paths: Sequence[str],
    cache: str | os.PathLike[str] | None = None,
    batch_size: int = 32,
    progress: bool = False,
    shard: Shard | None = None,
    shard_timeout: float = 3600.0,
    size: int | None = None,
) -> FileEmbeddings:
    """Embed image files, each distinct content once, reusing and filling an embedding cache.

    Files are keyed by the sha256 of their bytes; with ``cache`` only keys missing from its section for this
    model's weights are embedded. Unreadable files are skipped and listed, never fatal.

    Args:
        model: the metric.
        paths: image files.
        cache: embedding cache file (created if missing, saved at the end).
        batch_size: images per forward pass.
        progress: show a tqdm bar on stderr (when tqdm is installed).
        shard: this process's rank and world size (:func:`lipsim.index.shards.shard_from_env`); with
            world_size > 1 a cache is required (the shards meet next to it).
        shard_timeout: seconds rank 0 waits for the other ranks' shards.
        size: embed every image at one scale (short side ``size`` px; :func:`lipsim.index.embed.to_model_input`).
            The cache keeps these embeddings apart from those at other scales.

    Example:
        >>> import lipsim
        >>> m = lipsim.LipSim(pretrained=False, embed_dim=8, widths=(8, 16)).eval()
        >>> r = embed_files(m, ["examples/images/coffee.png", "missing.png"])  # doctest: +SKIP
        >>> r.paths, r.skipped  # doctest: +SKIP
        (['examples/images/coffee.png'], [('missing.png', "image file not found: 'missing.png'")])
    """
    shard = shard or Shard(0, 1)
    if shard.world_size > 1 and cache is None:
        raise ValueError(
            f"sharded embedding (WORLD_SIZE={shard.world_size}) needs a cache file: the shards are "
            "gathered through files next to it (pass --cache FILE)"
        )
    sha = embedding_key(model, size)
    store = EmbeddingCache(cache, sha) if cache is not None else None
    skipped: dict[int, str] = {}
    keys: list[str | None] = []
    for i, p in enumerate(paths):
        try:
            if Path(p).is_dir():
                raise IsADirectoryError(f"expected an image file, got a directory: {p!r}")
            keys.append(sha256_file(p))
        except OSError as e:
            keys.append(None)
            skipped[i] = (
                f"cannot read: {_reason(e)}"
                if not isinstance(e, FileNotFoundError)
                else f"image file not found: {str(p)!r}"
            )
    first_path: dict[str, str] = {}
    for p, k in zip(paths, keys):
        if k is not None:
            first_path.setdefault(k, p)
    todo = sorted(k for k in first_path if store is None or k not in store)
    mine = shard.take(todo)
    failed: dict[str, str] = {}
    mine_paths = [first_path[k] for k in mine]
    with Progress(len(mine), "embedding", progress) as bar:
        emb, ok = embed_paths(
            model,
            mine_paths,
            batch_size,
            on_error=lambda i, e: failed.__setitem__(mine[i], _reason(e)),
            on_batch=bar.update,
            size=size,
        )
    new_keys = [mine[i] for i in ok]
    if shard.world_size > 1:
        assert cache is not None  # checked above: sharded embedding needs a cache
        if shard.rank != 0:
            write_shard(cache, shard, sha, work_id(todo), new_keys, emb, failed)
            return FileEmbeddings([], None, [], len(new_keys), only_shard=True)
        for keys_r, emb_r, failed_r in wait_for_shards(cache, shard.world_size, sha, work_id(todo), shard_timeout):
            failed.update(failed_r)
            if emb_r is not None:
                emb = emb_r if emb is None else emb.concat(emb_r)
                new_keys += keys_r
    fresh: dict[str, int] = {k: j for j, k in enumerate(new_keys)}
    if store is not None:
        if emb is not None:
            store.put(new_keys, emb)
        store.save()
    rows_from_cache: list[str] = []
    out_paths: list[str] = []
    rows: list[tuple[bool, int]] = []  # (from the cache?, row there)
    for i, (p, k) in enumerate(zip(paths, keys)):
        if k is None:
            continue
        if k in failed:
            skipped[i] = failed[k]
            continue
        out_paths.append(p)
        if k in fresh:
            rows.append((False, fresh[k]))
        else:
            rows.append((True, len(rows_from_cache)))
            rows_from_cache.append(k)
    cached = store.get(rows_from_cache)[1] if store is not None and rows_from_cache else None
    n_new = 0 if emb is None else len(emb)
    both = emb if cached is None else (cached if emb is None else emb.concat(cached))
    result = None if both is None or not rows else both.select([n_new + j if c else j for c, j in rows])
    return FileEmbeddings(out_paths, result, [(paths[i], skipped[i]) for i in sorted(skipped)], len(new_keys))
