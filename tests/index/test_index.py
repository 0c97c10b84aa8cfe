"""lipsim.Index: adding images of every kind, ids, save/load (refusing other weights), search, errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import lipsim
from lipsim import Index, WeightsError
from lipsim.index import StoredEmbeddings, weights_sha256
from lipsim.index.certify import F_SLACK
from lipsim.index.search import exact_knn
from tests._helpers import structured_images, tiny_model


@pytest.fixture(scope="module")
def model():
    return tiny_model("efficient", dtype=torch.float32)


def _png(path: Path, x: torch.Tensor) -> str:
    Image.fromarray((x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(path)
    return str(path)


@pytest.fixture
def folder(tmp_path):
    imgs = structured_images(4, 20, seed=2, dtype=torch.float32)
    (tmp_path / "sub").mkdir()
    paths = [
        _png(tmp_path / "a.png", imgs[0]),
        _png(tmp_path / "b.png", imgs[1]),
        _png(tmp_path / "sub" / "c.png", imgs[2]),
    ]
    (tmp_path / "broken.jpg").write_text("not a jpeg")
    (tmp_path / "notes.txt").write_text("not an image suffix: ignored")
    return tmp_path, paths, imgs


def test_add_folder_files_tensors_and_pil(model, folder):
    root, paths, imgs = folder
    index = Index(model, threshold=0.1)
    assert index.add(root) == sorted(paths)
    ((path, why),) = index.skipped
    assert path == str(root / "broken.jpg") and why.startswith(f"not a readable image file: '{path}'")
    assert index.add(imgs[3]) == ["#3"]
    pil = Image.fromarray((imgs[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
    assert index.add([pil, imgs[1]], ids=["pil", "t"]) == ["pil", "t"]
    assert len(index) == 6 and index.ids[:3] == sorted(paths)
    # the file and its PIL copy embed identically; a float tensor differs by the 8-bit rounding only
    e = index.embeddings.phi
    assert torch.equal(e[0], e[4]) and float((e[1] - e[5]).norm()) < 1e-3
    # each row is the model's own embedding, with the resize norm of 20 px -> 16 px
    ref = model.embed_batch(imgs[3])
    assert torch.allclose(e[3], ref.phi[0], atol=1e-6)
    assert float(index.embeddings.resize_norm[3]) == pytest.approx(float(ref.resize_norm[0]))
    assert float(ref.resize_norm[0]) < 1


def test_add_errors(model, folder):
    root, paths, imgs = folder
    index = Index(model)
    index.add(paths[0])
    with pytest.raises(ValueError, match=rf"^id '{paths[0]}' is already in the index; ids must be unique$"):
        index.add(paths[0])
    with pytest.raises(ValueError, match=r"^images: 1 ids for 2 images$"):
        index.add(imgs[:2], ids=["x"])
    with pytest.raises(
        ValueError,
        match=r"^images: float values must be in \[0, 1\], got min=2, max=2; "
        r"uint8-range floats convert with x / 255$",
    ):
        index.add(torch.full((1, 3, 20, 20), 2.0))
    with pytest.raises(FileNotFoundError, match=r"^no such directory: 'nowhere/'$"):
        lipsim.index.list_images("nowhere/")
    with pytest.raises(ValueError, match=r"^backend must be one of \['exact', 'faiss'\], got 'annoy'$"):
        Index(model, backend="annoy")
    with pytest.raises(TypeError, match=r"^model must be a lipsim.LipSim, got str$"):
        Index("efficient")
    with pytest.raises(ValueError, match=r"^the index is empty: add images first$"):
        Index(model).search(imgs[0])


def test_save_load_roundtrip_and_refuses_other_weights(model, folder, tmp_path):
    root, paths, imgs = folder
    index = Index(model, threshold=0.05)
    index.add(root)
    out = index.save(tmp_path / "idx.safetensors")
    side = json.loads((tmp_path / "idx.json").read_text())
    assert side["weights_sha256"] == weights_sha256(model) and side["ids"] == index.ids
    back = Index.load(out, model)
    assert back.ids == index.ids and back.threshold == 0.05
    assert torch.equal(back.embeddings.phi, index.embeddings.phi)
    other = tiny_model("efficient", dtype=torch.float32, seed=1)
    with pytest.raises(
        WeightsError,
        match=r"^index '.*idx\.safetensors' was built with other weights \(sha256 "
        rf"{weights_sha256(model)[:12]}\.\.\., efficient\) than the model given "
        rf"\(sha256 {weights_sha256(other)[:12]}\.\.\., untrained\); load it with "
        r"the weights it was built with, or rebuild it$",
    ):
        Index.load(out, other)
    # a torn pair (tensor file replaced after the side file was written) is refused
    (tmp_path / "idx.safetensors").write_bytes((tmp_path / "idx.safetensors").read_bytes() + b" ")
    with pytest.raises(
        ValueError,
        match=r"does not match its side file .* \(sizes differ: the pair was torn by an "
        r"interrupted write or edited\); rebuild it$",
    ):
        Index.load(out, model)
    with pytest.raises(FileNotFoundError, match=r"^index file not found: 'missing\.safetensors'$"):
        Index.load("missing.safetensors", model)


def test_weights_sha_tracks_the_embedding_function(model):
    assert weights_sha256(model) == weights_sha256(tiny_model("efficient", dtype=torch.float32))
    assert weights_sha256(model) != weights_sha256(tiny_model("efficient", dtype=torch.float64))
    m2 = tiny_model("efficient", dtype=torch.float32)
    m2.constant_coordinate = "none"
    assert weights_sha256(model) != weights_sha256(m2)


def test_search_matches_brute_force(model):
    imgs = structured_images(12, 16, seed=4, dtype=torch.float32)
    index = Index(model, threshold=0.02)
    index.add(imgs[:10])
    results = index.search(imgs[10:], k=4, eps=0.01)
    phi = index.embeddings.phi.double()
    eq = model.embed_batch(imgs[10:])
    for q, r in zip(eq.phi.double(), results):
        s = (phi - q).norm(dim=1)
        order = torch.argsort(s)[:4].tolist()
        assert [n.row for n in r.neighbours] == order and [n.id for n in r.neighbours] == [f"#{i}" for i in order]
        for n in r.neighbours:
            assert n.distance == pytest.approx(float(s[n.row]) ** 2 / 2, abs=1e-6)
            assert n.lower <= n.distance <= n.upper
            assert n.same == (n.distance <= 0.02) and n.label in lipsim.index.LABELS
        # the NN radius: min over j of the bisector distance, never below the triangle bound (s_2 - s_1) / 2
        s1, s2 = sorted(s.tolist())[:2]
        bis = min(
            ((s[j] ** 2 - s1**2 - F_SLACK) / (2 * (phi[order[0]] - phi[j]).norm())).item()
            for j in range(10)
            if j != order[0]
        )
        assert r.nn_radius == pytest.approx(bis, rel=1e-6)  # resize_norm 1: no resize at 16 px
        assert r.nn_radius >= (s2 - s1) / 2 - 1e-6 and r.exact


def test_nn_radius_ties_and_single_item(model):
    imgs = structured_images(2, 16, seed=6, dtype=torch.float32)
    index = Index(model)
    index.add(torch.cat([imgs[:1], imgs[:1]]), ids=["x", "x-copy"])
    (r,) = index.search(imgs[1], k=2)
    assert math.isinf(r.nn_radius)  # identical stored vectors are one answer
    assert r.neighbours[0].label is None and r.threshold is None
    db = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), dim=1)
    h = exact_knn(torch.tensor([[1.0, 1.0]]) / 2**0.5, db, k=2)
    assert float(h.nn_radius_phi) == 0.0  # an exact tie is certified nowhere


def test_threshold_from_the_weights(model, monkeypatch):
    index = Index(model)
    assert index.threshold is None
    monkeypatch.setattr(type(model), "threshold", 0.3, raising=False)
    assert index.threshold == 0.3 and Index(model, threshold=0.1).threshold == 0.1
    with pytest.raises(ValueError, match=r"^no threshold: the weights recommend none; pass threshold=$"):
        monkeypatch.setattr(type(model), "threshold", None)
        index.add(structured_images(2, 16, dtype=torch.float32))
        index.duplicates()


def test_add_embeddings_checks(model):
    index = Index(model)
    e = StoredEmbeddings(torch.eye(3), torch.ones(3), torch.ones(3), True)
    with pytest.raises(ValueError, match=r"^2 ids for 3 embeddings$"):
        index.add_embeddings(e, ["a", "b"])
    with pytest.raises(TypeError, match=r"^ids must be strings, got int: 1$"):
        index.add_embeddings(e, [1, 2, 3])


def test_native_resolution_arch_embeds_like_the_model():
    """Images keep the size the network takes them at (here 20 px as is, 40 px -> 32 px): same phi and norms."""
    model = tiny_model("efficient", dtype=torch.float64, native_resolution=True, max_size=32)
    small, large = structured_images(1, 20, seed=1), structured_images(1, 40, seed=2)
    index = Index(model)
    index.add([small[0], large[0]], ids=["small", "large"])
    for row, img in enumerate((small, large)):
        ref = model.embed_batch(img)
        assert torch.allclose(index.embeddings.phi[row].double(), ref.phi[0], atol=1e-6)
        assert float(index.embeddings.resize_norm[row]) == pytest.approx(float(ref.resize_norm[0]), rel=1e-6)


def test_threshold_at_the_index_compare_size(model, monkeypatch):
    """Index(size=S) uses the weights' threshold calibrated at S (or the nearest calibrated size)."""
    monkeypatch.setattr(type(model), "threshold", 0.3, raising=False)
    monkeypatch.setattr(type(model), "size_thresholds", {32: 0.02, 128: 0.1}, raising=False)
    assert Index(model).threshold == 0.3  # each image at its own size: the weights' threshold
    assert Index(model, size=32).threshold == 0.02 and Index(model, size=40).threshold == 0.02
    assert Index(model, size=128).threshold == 0.1 and Index(model, size=100).threshold == 0.1
    assert Index(model, size=32, threshold=0.5).threshold == 0.5  # an explicit threshold wins
