"""Sharded embedding under torchrun: each process embeds a slice and hands it over through files.

torchrun (or any launcher) sets RANK and WORLD_SIZE. No process group is needed: rank r writes the embeddings
of its slice to ``CACHE.shard-r-of-W.safetensors`` (+ JSON); rank 0 waits for every other shard, merges them
into the cache and deletes them. Ranks can also be run one after another (all ranks > 0 first, then rank 0).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from .store import StoredEmbeddings, read_store, side_file, write_store

__all__ = ["Shard", "shard_from_env", "shard_path", "write_shard", "wait_for_shards"]

KIND = "embedding-shard"


@dataclass(frozen=True)
class Shard:
    """This process's place among the embedding processes."""

    rank: int
    world_size: int

    def take(self, items: list) -> list:
        """The items of this rank: every world_size-th, starting at rank."""
        return items[self.rank :: self.world_size]


def shard_from_env(environ: dict[str, str] | None = None) -> Shard:
    """Rank and world size from RANK / WORLD_SIZE (as set by torchrun); (0, 1) when they are absent.

    Example:
        >>> shard_from_env({"RANK": "1", "WORLD_SIZE": "4"})
        Shard(rank=1, world_size=4)
    """
    env = os.environ if environ is None else environ
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
    except ValueError:
        raise ValueError(
            f"RANK={env.get('RANK')!r} and WORLD_SIZE={env.get('WORLD_SIZE')!r} must be integers"
        ) from None
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"RANK={rank} and WORLD_SIZE={world}: expected WORLD_SIZE >= 1 and 0 <= RANK < WORLD_SIZE")
    return Shard(rank, world)


def shard_path(cache: str | os.PathLike[str], shard: Shard) -> Path:
    c = Path(cache)
    return c.with_name(f"{c.name}.shard-{shard.rank}-of-{shard.world_size}.safetensors")


def work_id(keys: list[str]) -> str:
    """sha256 of the full list of keys to embed: every rank must have split the same work."""
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()


def write_shard(
    cache: str | os.PathLike[str],
    shard: Shard,
    weights_sha256: str,
    work: str,
    keys: list[str],
    emb: StoredEmbeddings | None,
    failed: dict[str, str],
) -> Path:
    """Write this rank's embeddings (row i belongs to keys[i]) and the keys it could not read."""
    p = shard_path(cache, shard)
    tensors = {} if emb is None else {"phi": emb.phi, "pnorm": emb.resize_norm, "fnorm": emb.feature_norm}
    meta = {
        "kind": KIND,
        "weights_sha256": weights_sha256,
        "work": work,
        "keys": keys,
        "failed": failed,
        "constant_coordinate": None if emb is None else emb.constant_appended,
    }
    write_store(p, tensors, meta)
    return p


def wait_for_shards(
    cache: str | os.PathLike[str], world_size: int, weights_sha256: str, work: str, timeout: float, poll: float = 0.5
) -> list[tuple[list[str], StoredEmbeddings | None, dict]]:
    """Rank 0: wait for the shards of ranks 1..W-1, read and delete them.

    Raises:
        TimeoutError: a shard is still missing after ``timeout`` seconds.
        ValueError: a shard was made with other weights or another split of the work.
    """
    paths = [shard_path(cache, Shard(r, world_size)) for r in range(1, world_size)]
    deadline = time.monotonic() + timeout
    while True:
        missing = [p for p in paths if not side_file(p).is_file()]
        if not missing:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"rank 0 waited {timeout:g} s for the embedding shards of the other ranks; still "
                f"missing: {', '.join(repr(str(p)) for p in missing)}"
            )
        time.sleep(poll)
    out = []
    for p in paths:
        tensors, meta = read_store(p, "embedding shard")
        if meta.get("kind") != KIND or meta.get("weights_sha256") != weights_sha256:
            raise ValueError(f"shard {str(p)!r} was written with other weights than rank 0's; delete it and rerun")
        if meta.get("work") != work:
            raise ValueError(
                f"shard {str(p)!r} split another set of files (the folder or the cache changed "
                "between ranks); delete it and rerun"
            )
        emb = None
        if tensors:
            emb = StoredEmbeddings(
                tensors["phi"], tensors["pnorm"], tensors["fnorm"], bool(meta["constant_coordinate"])
            )
        out.append((list(meta["keys"]), emb, dict(meta["failed"])))
    for p in paths:
        p.unlink(missing_ok=True)
        side_file(p).unlink(missing_ok=True)
    return out
