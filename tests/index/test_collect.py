"""Embedding files once: the content-hash cache, unreadable files, and torchrun shards gathered by files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lipsim.index import EmbeddingCache, Shard, embed_files, shard_from_env, weights_sha256
from lipsim.index.shards import shard_path
from tests._helpers import structured_images, tiny_model


@pytest.fixture(scope="module")
def model():
    return tiny_model("efficient", dtype=torch.float32)


def _png(path: Path, x: torch.Tensor) -> str:
    Image.fromarray((x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(path)
    return str(path)


@pytest.fixture
def files(tmp_path):
    imgs = structured_images(5, 18, seed=8, dtype=torch.float32)
    paths = [_png(tmp_path / f"{i}.png", imgs[i]) for i in range(4)]
    shutil.copy(paths[0], tmp_path / "0-copy.png")  # same content: embedded once
    (tmp_path / "bad.png").write_bytes(b"\x89PNG broken")
    return tmp_path, paths + [str(tmp_path / "0-copy.png"), str(tmp_path / "bad.png")], imgs


def test_cache_embeds_only_new_contents(model, files, tmp_path):
    root, paths, imgs = files
    cache = tmp_path / "cache.safetensors"
    r1 = embed_files(model, paths, cache=cache)
    assert r1.paths == paths[:5] and r1.computed == 4 and [p for p, _ in r1.skipped] == [paths[5]]
    assert torch.equal(r1.emb.phi[0], r1.emb.phi[4])
    r2 = embed_files(model, paths, cache=cache)
    assert r2.computed == 0 and torch.equal(r2.emb.phi, r1.emb.phi)
    assert torch.equal(r2.emb.resize_norm, r1.emb.resize_norm)
    new = _png(root / "new.png", imgs[4])
    r3 = embed_files(model, [*paths, new], cache=cache)
    assert r3.computed == 1 and r3.paths[-1] == new
    assert torch.allclose(r3.emb.phi[-1], model.embed_batch(str(new)).phi[0], atol=1e-6)
    # another model's section lives beside the first one
    other = tiny_model("efficient", dtype=torch.float32, seed=3)
    assert embed_files(other, paths, cache=cache).computed == 4
    side = json.loads((tmp_path / "cache.json").read_text())
    assert set(side["sections"]) == {weights_sha256(model), weights_sha256(other)}
    assert embed_files(model, [*paths, new], cache=cache).computed == 0
    assert len(EmbeddingCache(cache, weights_sha256(model))) == 5


def test_unreadable_and_missing_files_are_listed(model, files, tmp_path):
    root, paths, _ = files
    r = embed_files(model, [paths[5], str(root / "gone.png"), str(root)])
    assert r.emb is None and r.paths == []
    assert [why.split(":")[0] for _, why in r.skipped] == [
        "not a readable image file",
        "image file not found",
        "cannot read",
    ]


def test_a_foreign_cache_file_is_refused(model, files, tmp_path):
    _, paths, _ = files
    bad = tmp_path / "c.safetensors"
    bad.write_bytes(b"x")
    (tmp_path / "c.json").write_text("{}")
    with pytest.raises(
        ValueError,
        match=r"is not a lipsim embedding cache side file \(expected format "
        r"'lipsim-embeddings'\)$",
    ):
        embed_files(model, paths, cache=bad)


def test_shard_env():
    assert shard_from_env({}) == Shard(0, 1)
    assert shard_from_env({"RANK": "2", "WORLD_SIZE": "3"}) == Shard(2, 3)
    with pytest.raises(
        ValueError,
        match=r"^RANK=3 and WORLD_SIZE=3: expected WORLD_SIZE >= 1 and 0 <= RANK < "
        r"WORLD_SIZE$",
    ):
        shard_from_env({"RANK": "3", "WORLD_SIZE": "3"})


def test_shards_split_the_work_and_rank0_merges(model, files, tmp_path):
    _, paths, _ = files
    cache = tmp_path / "sharded.safetensors"
    with pytest.raises(ValueError, match=r"^sharded embedding \(WORLD_SIZE=2\) needs a cache file"):
        embed_files(model, paths, shard=Shard(1, 2))
    r1 = embed_files(model, paths, cache=cache, shard=Shard(1, 2))  # 2 of the 5 contents (one is unreadable)
    assert r1.only_shard and r1.computed in (1, 2) and shard_path(cache, Shard(1, 2)).is_file()
    assert not cache.exists()
    r0 = embed_files(model, paths, cache=cache, shard=Shard(0, 2), shard_timeout=5)
    assert r0.computed == 4 and r0.paths == paths[:5] and [p for p, _ in r0.skipped] == [paths[5]]
    assert not shard_path(cache, Shard(1, 2)).exists()
    plain = embed_files(model, paths)
    assert torch.allclose(r0.emb.phi, plain.emb.phi, atol=1e-6)
    assert embed_files(model, paths, cache=cache).computed == 0


def test_rank0_times_out_naming_the_missing_shard(model, files, tmp_path):
    _, paths, _ = files
    cache = tmp_path / "lonely.safetensors"
    with pytest.raises(
        TimeoutError,
        match=r"^rank 0 waited 0\.2 s for the embedding shards of the other ranks; "
        r"still missing: '.*lonely\.safetensors\.shard-1-of-2\.safetensors'$",
    ):
        embed_files(model, paths, cache=cache, shard=Shard(0, 2), shard_timeout=0.2)
