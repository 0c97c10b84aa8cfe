"""The shared training loop on a toy regression: log, checkpoint, stop_after and a bit-exact resume."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from tests.train._packages import require

require("tqdm")

from lipsim.train.distributed import setup_distributed
from lipsim.train.loop import run_training
from lipsim.train.rng import seeded_generator


@dataclass
class ToyConfig:
    steps: int = 6
    lr: float = 0.05
    betas: tuple[float, float] = (0.5, 0.9)
    warmup_steps: int = -1
    grad_clip: float = 1.0
    checkpoint_every: int = 4
    log_every: int = 2
    resume: bool = False
    stop_after: int | None = None
    progress: bool = False


def _train(out: Path, **kw) -> tuple[bool, torch.nn.Linear]:
    cfg = ToyConfig(**kw)
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)

    def step(i: int) -> dict[str, torch.Tensor]:
        x = torch.randn(5, 3, generator=seeded_generator("toy", 0, i))
        loss = model(x).pow(2).mean()
        loss.backward()
        return {"loss": loss.detach(), "accuracy": torch.tensor(0.5)}

    out.mkdir(exist_ok=True)
    done = run_training(
        "toy",
        cfg,
        setup_distributed("cpu"),
        out,
        model,
        model.parameters(),
        step,
        ["step", "loss", "accuracy", "lr", "elapsed_s"],
    )
    return done, model


def test_stop_and_resume_continue_bit_for_bit(tmp_path):
    finished, full = _train(tmp_path / "full")
    assert finished
    stopped_finished, _ = _train(tmp_path / "part", stop_after=3)
    assert not stopped_finished
    state = torch.load(tmp_path / "part" / "checkpoint.pt", weights_only=True)
    assert state["kind"] == "toy" and state["step"] == 3 and state["config"]["stop_after"] == 3
    finished, resumed = _train(tmp_path / "part", resume=True)
    assert finished
    for a, b in zip(full.parameters(), resumed.parameters()):
        assert torch.equal(a, b)
    with open(tmp_path / "part" / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows] == ["2", "4", "6"] and rows[0]["accuracy"] == "0.5000"
    assert list(rows[0]) == ["step", "loss", "accuracy", "lr", "elapsed_s"]
    assert json.loads((tmp_path / "part" / "toy_config.json").read_text())["resume"] is True


@pytest.mark.parametrize("name", ["checkpoint_every", "log_every"])
def test_intervals_below_one_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match=f"--{name.replace('_', '-')} must be at least 1, got 0"):
        _train(tmp_path, **{name: 0})
