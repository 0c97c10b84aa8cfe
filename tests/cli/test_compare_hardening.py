"""lipsim-compare against hostile or broken inputs: unreadable files in directories, FIFOs, symlink loops, pixel
bombs, broken weights, calibrated thresholds, and embedding each image only once. All in process."""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

import pytest
import torch

from lipsim import LipSim
from lipsim.pretrained import write_safetensors
from tests._helpers import structured_images, tiny_model
from tests.cli._runner import _png
from tests.cli._runner import run_compare as _run


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("compare-hardening")
    m = tiny_model("efficient", dtype=torch.float32)
    f: dict[str, Path] = {
        "root": root,
        "weights": m.save_pretrained(root / "weights"),
        "thr": m.save_pretrained(root / "thr", extra_config={"threshold": 0.02, "threshold_rates": {"same": 0.9}}),
    }
    imgs = structured_images(6, 24, seed=5, dtype=torch.float32)
    d = root / "imgs"
    d.mkdir()
    for i in range(6):
        f[f"i{i}"] = _png(d / f"i{i}.png", imgs[i])
    f["dir"] = d
    return f


def _in_thread(fn, timeout: float = 60.0):
    out: dict[str, object] = {}
    t = threading.Thread(target=lambda: out.setdefault("v", fn()), daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"still blocked after {timeout} s"
    return out["v"]


# ---------------------------------------------------------------------------------------------- embed once
def test_each_image_is_embedded_once_and_pairs_come_from_embeddings(setup, capsys, monkeypatch):
    embedded: list[int] = []
    real = LipSim.embed_batch
    monkeypatch.setattr(
        LipSim, "embed_batch", lambda self, x, name="image": embedded.append(len(x)) or real(self, x, name)
    )
    code, out, err = _run(
        [str(setup["dir"]), "--json", "--weights", str(setup["weights"]), "--batch-size", "4"], capsys
    )
    assert code == 0, err
    recs = [json.loads(line) for line in out.splitlines()]
    assert len(recs) == 15 and sum(embedded) == 6 and max(embedded) <= 4  # 6 images embedded once, in batches
    m = LipSim(weights=setup["weights"])
    for r in recs[:4]:
        assert r["distance"] == pytest.approx(float(m(r["img0"], r["img1"])), abs=1e-6)


# ---------------------------------------------------------------------------------------------- unreadable files
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_unreadable_files_in_a_directory_are_skipped_and_reported(setup, tmp_path, capsys):
    d = tmp_path / "mixed"
    d.mkdir()
    for i in range(3):
        (d / f"i{i}.png").write_bytes(setup[f"i{i}"].read_bytes())
    (d / "notes.png").write_text("not an image")
    os.mkfifo(d / "pipe.png")
    (d / "loop.png").symlink_to(d / "loop.png")
    code, out, err = _in_thread(lambda: _run([str(d), "--json", "--weights", str(setup["weights"])], capsys))
    assert code == 1
    recs = [json.loads(line) for line in out.splitlines()]
    skipped = {Path(r["skipped"]).name: r["error"] for r in recs if "skipped" in r}
    pairs = [(Path(r["img0"]).name, Path(r["img1"]).name) for r in recs if "skipped" not in r]
    assert pairs == [("i0.png", "i1.png"), ("i0.png", "i2.png"), ("i1.png", "i2.png")]
    assert skipped == {
        "loop.png": f"expected an image file, got a symbolic link loop: {str(d / 'loop.png')!r}",
        "notes.png": f"not a readable image file: {str(d / 'notes.png')!r} (UnidentifiedImageError: not in any image "
        "format Pillow reads)",
        "pipe.png": f"expected an image file, got a FIFO (named pipe): {str(d / 'pipe.png')!r}",
    }
    lines = err.splitlines()
    assert lines[-1] == (
        "lipsim-compare: 3 of 6 images could not be read; their pairs are missing (see the lines above)"
    )
    assert (
        f"lipsim-compare: skipped {str(d / 'pipe.png')!r}: expected an image file, got a FIFO (named pipe): "
        f"{str(d / 'pipe.png')!r}" in lines
    )
    assert "Traceback" not in err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_fifo_and_link_loop_as_arguments(setup, tmp_path, capsys):
    os.mkfifo(tmp_path / "p.png")
    code, out, err = _in_thread(
        lambda: _run([str(tmp_path / "p.png"), str(setup["i0"]), "--weights", str(setup["weights"])], capsys)
    )
    assert code == 2 and out == ""
    assert err == (
        f"lipsim-compare: error: expected an image file or a directory, got a FIFO (named pipe): "
        f"{str(tmp_path / 'p.png')!r}\n"
    )
    (tmp_path / "l.png").symlink_to(tmp_path / "l.png")
    code, _, err = _run([str(setup["i0"]), str(tmp_path / "l.png"), "--weights", str(setup["weights"])], capsys)
    assert code == 2 and err == (
        f"lipsim-compare: error: expected an image file or a directory, got a symbolic "
        f"link loop: {str(tmp_path / 'l.png')!r}\n"
    )


def test_pixel_limit(setup, capsys):
    code, out, err = _run(
        [str(setup["i0"]), str(setup["i1"]), "--max-pixels", "100", "--weights", str(setup["weights"])], capsys
    )
    assert code == 2 and out == ""
    assert err == (
        f"lipsim-compare: error: {str(setup['i0'])!r} is 24x24 = 576 pixels, more than the limit of 100; "
        "raise it with max_pixels= (lipsim-compare --max-pixels) if the file is trusted\n"
    )
    code, out, _ = _run(
        [str(setup["i0"]), str(setup["i1"]), "--max-pixels", "none", "--json", "--weights", str(setup["weights"])],
        capsys,
    )
    assert code == 0 and len(out.splitlines()) == 1


def _run_measured(argv: list[str]) -> tuple[int, str, str, float]:
    """lipsim-compare in a subprocess: (exit status, stdout, stderr, its peak RSS in MiB)."""
    import resource
    import subprocess
    import sys

    from tests.cli._runner import env

    out_path, err_path = Path(argv[-1] + ".out"), Path(argv[-1] + ".err")
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lipsim.cli.compare", *argv[:-1]],
            stdout=out,
            stderr=err,
            env=env(),
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CPU, (300, 300)),
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, out_path.read_text(), err_path.read_text(), usage.ru_maxrss / 1024


def test_a_60000_x_1_image_is_one_line_and_bounded_memory(setup, tmp_path):
    """A 60000 x 1 PNG would need a 64 x 3,840,000 network input at the native size (the dense resize matrices
    asked 28.8 GB): it is refused in one line, the other pairs are still printed, the process stays small."""
    from PIL import Image

    native = tiny_model("efficient", dtype=torch.float32, native_resolution=True).save_pretrained(tmp_path / "native")
    d = tmp_path / "wide-dir"
    d.mkdir()
    for i in range(3):
        (d / f"i{i}.png").write_bytes(setup[f"i{i}"].read_bytes())
    Image.new("RGB", (60000, 1), (200, 100, 50)).save(d / "wide.png")
    wide = repr(str(d / "wide.png"))
    why = (
        f"{wide}: resizing (H, W) = (1, 60000) to (16, 960000) is refused: a side over 8192 px "
        "(lipsim.resize.MAX_RESIZE_SIDE); the image is too elongated, or the size asked for too large"
    )
    code, out, err, peak_mib = _run_measured([str(d), "--json", "--weights", str(native), str(tmp_path / "dir")])
    assert code == 1, err
    recs = [json.loads(line) for line in out.splitlines()]
    assert [(Path(r["img0"]).name, Path(r["img1"]).name) for r in recs if "skipped" not in r] == [
        ("i0.png", "i1.png"),
        ("i0.png", "i2.png"),
        ("i1.png", "i2.png"),
    ]
    assert [r for r in recs if "skipped" in r] == [{"skipped": str(d / "wide.png"), "error": why}]
    assert err.splitlines() == [
        f"lipsim-compare: skipped {wide}: {why}",
        "lipsim-compare: 1 of 4 images could not be read; their pairs are missing (see the lines above)",
    ]
    assert peak_mib < 1500, f"peak RSS {peak_mib:.0f} MiB"
    code, out, err, peak_mib = _run_measured(
        [str(d / "i0.png"), str(d / "wide.png"), "--weights", str(native), str(tmp_path / "two")]
    )
    assert (code, out, err) == (2, "", f"lipsim-compare: error: {why}\n")
    assert peak_mib < 1500, f"peak RSS {peak_mib:.0f} MiB"


def test_animated_image_warns_in_one_line(setup, tmp_path, capsys):
    from PIL import Image

    frames = [Image.new("RGB", (24, 24), (40 * i, 90, 200)) for i in range(2)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    code, out, err = _run([str(tmp_path / "a.gif"), str(setup["i0"]), "--weights", str(setup["weights"])], capsys)
    assert code == 0 and len(out.splitlines()) == 1
    assert err == (
        f"lipsim-compare: warning: {str(tmp_path / 'a.gif')!r} holds 2 frames (an animation or multi-page "
        "file); only the first frame is used\n"
    )


# ---------------------------------------------------------------------------------------------- weights
def test_weights_that_overflow_are_refused_never_nan(setup, tmp_path, capsys):
    m = tiny_model("efficient", dtype=torch.float32)
    with torch.no_grad():
        m.backbone.head[-1].bias.fill_(3e38)  # finite, so it loads; ||[f; 1]|| overflows
    d = m.save_pretrained(tmp_path / "huge")
    code, out, err = _run([str(setup["i0"]), str(setup["i1"]), "--json", "--weights", str(d)], capsys)
    assert code == 2 and out == ""
    assert re.fullmatch(
        r"lipsim-compare: error: .*i0\.png.*: the network produced NaN, infinite or overflowed "
        r"embeddings for image\(s\) \[0.*\] "
        r"\(weights '.*huge/model\.safetensors', dtype torch\.float32\)"
        r": they overflow on these inputs; lipsim refuses to answer with NaN\n",
        err,
    ), err


def test_weights_with_a_nan_tensor_are_refused(setup, tmp_path, capsys):
    m = tiny_model("efficient", dtype=torch.float32)
    sd = dict(m.backbone.state_dict())
    sd["head.0.weight"] = sd["head.0.weight"].clone()
    sd["head.0.weight"][0, 0] = float("nan")
    sha = write_safetensors(tmp_path / "nan.safetensors", sd, m.config)
    code, out, err = _run(
        [str(setup["i0"]), str(setup["i1"]), "--json", "--weights", str(tmp_path / "nan.safetensors")]
        + ["--expected-sha256", sha],
        capsys,
    )
    assert code == 2 and out == ""
    assert err == (
        f"lipsim-compare: error: weights file {str(tmp_path / 'nan.safetensors')!r}: tensor 'head.0.weight' "
        "holds 1 NaN and 0 infinite values (of 256); the file is corrupt or comes from a diverged run\n"
    )


def test_unverified_weights_need_a_digest_or_trust(setup, tmp_path, capsys):
    """A weights file alone records no checksum: refused, unless --expected-sha256 pins it or --trust-unverified
    loads it with a one-line warning (a flipped byte used to change decisions without a word)."""
    from lipsim.pretrained import sha256_file

    w = tmp_path / "alone.safetensors"
    w.write_bytes((setup["weights"] / "model.safetensors").read_bytes())
    sha = sha256_file(w)
    pair = [str(setup["i0"]), str(setup["i1"]), "--json", "--weights", str(w)]
    code, out, err = _run(pair, capsys)
    assert code == 2 and out == ""
    assert err == (
        f"lipsim-compare: error: weights file {str(w)!r} cannot be verified: no sha256 is pinned for it (the registry "
        f"does not know it, and a file alone records none); its sha256 is {sha}: check it against a trusted source "
        "and pass expected_sha256 (--expected-sha256), or pass trust_unverified=True (--trust-unverified) to load it "
        "unverified\n"
    )
    code, out, err = _run([*pair, "--expected-sha256", sha], capsys)
    assert code == 0 and err == "" and len(out.splitlines()) == 1
    expected = json.loads(out)
    code, out, err = _run([*pair, "--trust-unverified"], capsys)
    assert code == 0 and json.loads(out) == expected
    assert err == (
        f"lipsim-compare: warning: weights file {str(w)!r} is loaded unverified (trust_unverified): no sha256 is "
        f"pinned for it; its sha256 is {sha}\n"
    )
    code, out, err = _run([*pair, "--expected-sha256", "00" * 32], capsys)
    assert code == 2 and f"failed its sha256 check: expected {'00' * 32}, found {sha}" in err


def test_degenerate_weights_are_one_line(setup, tmp_path, capsys):
    m = tiny_model("efficient", dtype=torch.float32)
    for p in m.parameters():
        p.data.zero_()
    d = m.save_pretrained(tmp_path / "zeros")
    code, out, err = _run([str(setup["i0"]), str(setup["i1"]), "--weights", str(d)], capsys)
    assert code == 2 and out == ""
    assert err == (
        f"lipsim-compare: error: weights {str(d / 'model.safetensors')!r} embed every image alike: black, white and "
        "a colour pattern all get the same embedding (they differ by at most 0 in l2), so every distance would be "
        "0; the weights are zero, constant or broken\n"
    )


def test_mistyped_local_folder_is_not_sent_to_the_hub(setup, capsys):
    code, out, err = _run([str(setup["i0"]), str(setup["i1"]), "--weights", "runs/model"], capsys)
    assert code == 2 and out == ""
    assert err == (
        "lipsim-compare: error: weights: no such file or directory: 'runs/model'; for the Hugging Face Hub "
        "repo write 'hf-hub:runs/model'\n"
    )


# ---------------------------------------------------------------------------------------------- threshold
def test_threshold_of_the_weights_is_used_and_named(setup, capsys):
    a, b = str(setup["i0"]), str(setup["i1"])
    m = LipSim(weights=setup["thr"])
    cert = m.certify(a, b, threshold=0.02)
    code, out, _ = _run([a, b, "--weights", str(setup["thr"])], capsys)
    verdict = "same (d <= 0.02" if bool(cert.same) else "different (d > 0.02"
    assert code == 0 and f"  {verdict}, threshold of the weights) radius={float(cert.radius):.6f}" in out
    code, out, _ = _run([a, b, "--json", "--weights", str(setup["thr"])], capsys)
    (rec,) = [json.loads(line) for line in out.splitlines()]
    assert rec["threshold"] == 0.02 and rec["threshold_source"] == "weights" and rec["same"] == bool(cert.same)
    code, out, _ = _run([a, b, "--json", "--threshold", "0.5", "--weights", str(setup["thr"])], capsys)
    (rec,) = [json.loads(line) for line in out.splitlines()]
    assert rec["threshold"] == 0.5 and rec["threshold_source"] == "--threshold"
    code, out, _ = _run([a, b, "--json", "--no-threshold", "--weights", str(setup["thr"])], capsys)
    (rec,) = [json.loads(line) for line in out.splitlines()]
    assert "threshold" not in rec and "same" not in rec
    code, out, _ = _run([a, b, "--json", "--weights", str(setup["weights"])], capsys)  # no threshold in the weights
    assert "threshold" not in json.loads(out)
