"""Comparing at one size (Index(size=...), dedup/search --size): rescaled copies meet, certificates stay sound."""

from __future__ import annotations

import pytest
import torch

from lipsim import Index
from lipsim.index import embed_files
from lipsim.index.embed import common_size, to_model_input
from lipsim.index.fingerprint import embedding_key, weights_sha256
from lipsim.resize import resize, resize_operator_norm
from tests._attacks import pgd_l2_image
from tests._helpers import structured_images, tiny_model


@pytest.fixture(scope="module")
def native():
    return tiny_model("efficient", native_resolution=True, max_size=64)


@pytest.fixture(scope="module")
def images():
    return structured_images(5, 48, seed=3)


def _phi_at(model, x, size):
    xs, norm = to_model_input(model, x, size)
    return model.embed_batch(xs[None]).phi[0]


def test_common_size():
    assert common_size((48, 48), 24) == (24, 24)
    assert common_size((30, 60), 20) == (20, 40)
    assert common_size((601, 400), 200) == (300, 200)


def test_a_rescaled_copy_meets_its_original_only_at_one_size(native, images):
    x = images[0]
    copy = resize(x[None], (24, 24))[0]
    own = Index(native)
    own.add(torch.stack([x]), ids=["x"])
    own.add(copy, ids=["copy"])
    same_size = Index(native, size=24)
    same_size.add(torch.stack([x]), ids=["x"])
    same_size.add(copy, ids=["copy"])
    d_own = float(1 - own.embeddings.phi[0] @ own.embeddings.phi[1])
    d_common = float(1 - same_size.embeddings.phi[0] @ same_size.embeddings.phi[1])
    assert d_common < 1e-6 < d_own


def test_resize_norms_compose(images):
    model = tiny_model("efficient")  # fixed 16 px: the common size, then the network's own resize
    x, norm = to_model_input(model, images[0], 20)
    assert tuple(x.shape[-2:]) == (16, 16)
    expected = resize_operator_norm((48, 48), (20, 20)) * resize_operator_norm((20, 20), (16, 16))
    assert norm == pytest.approx(expected, rel=1e-12)


def test_certified_labels_survive_pgd_at_a_common_size(native, images):
    torch.set_num_threads(1)
    index = Index(native, size=20)
    index.add(images[:4], ids=[f"db{i}" for i in range(4)])
    torch.manual_seed(0)
    q = (images[0] + 0.02 * torch.randn_like(images[0])).clamp(0, 1)
    (r,) = index.search(q, k=3, eps=0.0)
    ds = [n.distance for n in r.neighbours]
    tau = 0.5 * (ds[0] + ds[1])
    (r,) = index.search(q, k=3, eps=0.0, threshold=tau)
    assert r.neighbours[0].same and not r.neighbours[1].same and r.nn_radius > 1e-4
    for n in r.neighbours:
        target = _phi_at(native, images[n.row], 20).detach()
        sign = 1.0 if n.same else -1.0

        def d(x, target=target):
            return 1 - _phi_at(native, x, 20) @ target

        adv = pgd_l2_image(q, lambda x, sign=sign, d=d: sign * d(x), 0.99 * n.radius, steps=60)
        assert (float(d(adv)) <= tau) == n.same, n


def test_size_is_saved_checked_and_keys_the_cache(native, images, tmp_path):
    index = Index(native, size=24)
    index.add(images[:2], ids=["a", "b"])
    index.save(tmp_path / "i.safetensors")
    back = Index.load(tmp_path / "i.safetensors", native)
    assert back.size == 24 and "size=24" in repr(back)
    torch.testing.assert_close(back.embeddings.phi, index.embeddings.phi)
    assert embedding_key(native) == weights_sha256(native) != embedding_key(native, 24)
    with pytest.raises(
        ValueError,
        match=r"size must be a positive number of pixels \(the short side\) or None, "
        r"got 0",
    ):
        Index(native, size=0)
    with pytest.raises(ValueError, match="size=24 needs a model that resizes its inputs"):
        Index(tiny_model("efficient", resize=False), size=24)
    with pytest.raises(
        ValueError,
        match=r"^size must be at most 8192 px \(lipsim\.resize\.MAX_RESIZE_SIDE, the longest side a resize "
        r"produces\), got 100000$",
    ):
        Index(native, size=100000)


def test_sizes_beyond_the_limits_fail_before_resizing(native, monkeypatch):
    """A 1 x 60000 strip would become 64 x 3,840,000 at size 64, and 16 x 960,000 at the native size: refused
    (ImageError, which embed_files reports as a skipped image) before any resize runs."""
    import lipsim.index.embed as embed_mod
    from lipsim.errors import ImageError

    monkeypatch.setattr(embed_mod, "resize", lambda *a: pytest.fail("resized before the limits were checked"))
    strip = torch.full((3, 1, 60000), 0.5, dtype=torch.float64)
    with pytest.raises(ImageError, match=r"^resizing \(H, W\) = \(1, 60000\) to \(64, 3840000\) is refused: a "):
        to_model_input(native, strip, 64)
    with pytest.raises(ImageError, match=r"^resizing \(H, W\) = \(1, 60000\) to \(16, 960000\) is refused: a "):
        to_model_input(native, strip)
    emb, done = embed_mod.embed_tensors(native, lambda i: strip, 1, on_error=lambda i, e: None)
    assert emb is None and done == []


def test_embed_files_at_a_size_keeps_its_own_cache_section(native, images, tmp_path):
    from PIL import Image

    paths = []
    for i in range(2):
        arr = (images[i].permute(1, 2, 0).numpy() * 255).round().astype("uint8")
        Image.fromarray(arr).save(tmp_path / f"{i}.png")
        paths.append(str(tmp_path / f"{i}.png"))
    cache = tmp_path / "cache.safetensors"
    own = embed_files(native, paths, cache=cache)
    at24 = embed_files(native, paths, cache=cache, size=24)
    assert own.computed == 2 and at24.computed == 2  # another scale: embedded anew, not read from the cache
    again = embed_files(native, paths, cache=cache, size=24)
    assert again.computed == 0
    torch.testing.assert_close(again.emb.phi, at24.emb.phi)
    assert not torch.allclose(own.emb.phi, at24.emb.phi)
