"""``lipsim search``: neighbours, certified intervals and radii from a saved index or a folder; errors."""

from __future__ import annotations

import json
import math

import pytest

from lipsim import Index, LipSim
from lipsim.cli.main import main
from tests.cli._index_files import make_collection


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    f = make_collection(tmp_path_factory.mktemp("search"))
    f["index"] = str(f["root"] / "photos.safetensors")
    assert (
        main(["dedup", f["photos"], "--weights", f["weights"], "--threshold", "0.01", "--save-index", f["index"]]) == 0
    )
    return f


@pytest.fixture(scope="module")
def api(files):
    index = Index.load(files["index"], LipSim(weights=files["weights"]))
    (r,) = index.search(files["query"], k=3, eps=0.05, threshold=0.01)
    return r


def _run(capsys, *argv):
    capsys.readouterr()
    code = main(["search", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_from_a_saved_index(capsys, files, api):
    code, out, _ = _run(
        capsys, files["index"], files["query"], "-k", "3", "--eps", "0.05", "--weights", files["weights"], "--json"
    )
    (rec,) = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and rec["query"] == files["query"] and rec["exact"] is True
    assert rec["nn_radius"] == pytest.approx(api.nn_radius) and rec["nn_radius"] > 0
    assert rec["threshold"] == 0.01 and rec["eps"] == 0.05  # the threshold saved with the index
    assert [n["id"] for n in rec["neighbours"]] == [n.id for n in api.neighbours]
    assert rec["neighbours"][0]["id"].endswith("/p1.png")  # the query is a noisy copy of p1
    for got, want in zip(rec["neighbours"], api.neighbours):
        assert got["distance"] == pytest.approx(want.distance) and got["label"] == want.label
        assert got["lower"] <= got["distance"] <= got["upper"]
        assert got["radius"] == pytest.approx(want.radius)


def test_text_from_a_folder(capsys, files, api):
    code, out, err = _run(
        capsys,
        files["photos"],
        files["query"],
        "-k",
        "2",
        "--eps",
        "0.05",
        "--threshold",
        "0.01",
        "--weights",
        files["weights"],
    )
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert lines[0] == f"{files['query']}  nearest-neighbour radius={api.nn_radius:.6f}"
    n = api.neighbours[0]
    assert lines[1] == (
        f"  1. {n.id}  d={n.distance:.6f}  certified [{n.lower:.6f}, {n.upper:.6f}] @ eps=0.0500  "
        f"{n.label}  radius={n.radius:.6f}"
    )
    assert err.startswith(f"lipsim search: skipped unreadable file '{files['broken']}': not a readable image file")


def test_faiss_backend_gives_the_same_neighbours(capsys, files, api):
    pytest.importorskip("faiss")
    _, out, _ = _run(
        capsys,
        files["index"],
        files["query"],
        "-k",
        "3",
        "--eps",
        "0.05",
        "--weights",
        files["weights"],
        "--json",
        "--backend",
        "faiss",
    )
    rec = json.loads(out)
    assert [n["id"] for n in rec["neighbours"]] == [n.id for n in api.neighbours] and rec["exact"]
    assert rec["nn_radius"] <= api.nn_radius + 1e-9 and not math.isnan(rec["nn_radius"])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["{index}", "{query}", "--weights", "{other}"], "lipsim: error: index '{index}' was built with other weights"),
        (["{index}", "{query}", "-k", "0", "--weights", "{weights}"], "lipsim: error: -k must be >= 1, got 0"),
        (["{index}", "nope.png", "--weights", "{weights}"], "lipsim: error: no such query image file: 'nope.png'"),
        (
            ["missing.safetensors", "{query}", "--weights", "{weights}"],
            "lipsim: error: no such index file or folder: 'missing.safetensors'",
        ),
        (
            ["{index}", "{broken}", "--weights", "{weights}"],
            "lipsim: error: query '{broken}' is unreadable: not a readable image file",
        ),
        (
            ["{index}", "{query}", "--size", "24", "--weights", "{weights}"],
            "lipsim: error: --size 24: the index '{index}' was built at size None; "
            "queries are compared at the index's size",
        ),
    ],
)
def test_errors(capsys, files, argv, message):
    argv = [a.format(**files) for a in argv]
    with pytest.raises(SystemExit) as e:
        main(["search", *argv])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.splitlines()) == 1 and err.startswith(message.format(**files)), err
