"""Training provenance is a list of stages: every fine-tuning round is recorded, older files stay readable."""

from __future__ import annotations

import json

import pytest

from lipsim.train.provenance import append_stage, training_stages
from tests.train._packages import require

LEGACY = {
    "stage": "distill",
    "teacher": "vgg16",
    "steps": 300,
    "finetune": {"data": "syn", "margin": 0.2, "steps": 700},
}


def test_the_list_form_is_read_as_it_is():
    stages = [{"stage": "distill", "teacher": "alexnet"}, {"stage": "finetune", "margin": 0.2}]
    out = training_stages(stages)
    assert out == stages
    out[0]["teacher"] = "changed"  # a copy: the config is never modified through it
    assert stages[0]["teacher"] == "alexnet"


def test_no_provenance_is_no_stages():
    assert training_stages(None) == []
    assert append_stage(None, {"stage": "distill"}) == [{"stage": "distill"}]


def test_a_legacy_object_becomes_its_stages():
    assert training_stages(LEGACY) == [
        {"stage": "distill", "teacher": "vgg16", "steps": 300},
        {"stage": "finetune", "data": "syn", "margin": 0.2, "steps": 700},
    ]
    assert training_stages({"stage": "distill", "teacher": "vgg16"}) == [{"stage": "distill", "teacher": "vgg16"}]
    assert "finetune" in LEGACY  # the input is not modified


def test_append_keeps_every_round_in_order():
    stages = append_stage(LEGACY, {"stage": "finetune", "margin": 0.5})
    stages = append_stage(stages, {"stage": "finetune", "margin": 0.1})
    assert [s["stage"] for s in stages] == ["distill", "finetune", "finetune", "finetune"]
    assert [s.get("margin") for s in stages] == [None, 0.2, 0.5, 0.1]


@pytest.mark.parametrize(
    "training,message",
    [
        ("distill", "training provenance must be a list of stages (objects), got str"),
        ([{"stage": "distill"}, 3], "training provenance must be a list of objects (one per stage); item 1 is a int"),
        ({"stage": "distill", "finetune": [1]}, "training provenance: 'finetune' must be an object, got list"),
    ],
)
def test_unreadable_provenance_is_a_clear_error(training, message):
    with pytest.raises(ValueError) as info:
        training_stages(training)
    assert str(info.value) == message


def test_a_stage_needs_a_name():
    with pytest.raises(
        ValueError, match=r"^a training stage must be a dict with a 'stage' name, got \{'margin': 0\.2\}$"
    ):
        append_stage([], {"margin": 0.2})


def _finetune_cfg(data, init, out, margin):
    from lipsim.train.finetune import FinetuneConfig

    return FinetuneConfig(
        data=str(data),
        format="bapps",
        split="train",
        init=str(init),
        out=str(out),
        steps=2,
        batch_size=4,
        margin=margin,
        checkpoint_every=2,
        device="cpu",
        progress=False,
    )


@pytest.fixture(scope="module")
def triplets(make_photos, tmp_path_factory):
    from lipsim.train.data.synthetic_two_afc import make_two_afc

    out = tmp_path_factory.mktemp("syn")
    make_two_afc(str(make_photos()), str(out), n=7, seed=0, size=32, split="train")
    return out


def test_two_finetune_rounds_are_both_recorded(tiny_lipsim, triplets, tmp_path):
    require("tqdm")
    from lipsim.train.finetune import finetune

    init = tiny_lipsim().save_pretrained(tmp_path / "distilled", extra_config={"training": LEGACY})
    first = finetune(_finetune_cfg(triplets, init, tmp_path / "ft1", margin=0.3))
    second = finetune(_finetune_cfg(triplets, first, tmp_path / "ft2", margin=0.4))
    stages = json.loads((second / "config.json").read_text())["training"]
    assert [s["stage"] for s in stages] == ["distill", "finetune", "finetune", "finetune"]
    assert [s.get("margin") for s in stages] == [None, 0.2, 0.3, 0.4]
    assert stages[0]["teacher"] == "vgg16" and stages[3]["steps"] == 2 and stages[3]["data"] == str(triplets)
    assert stages[2]["init"].startswith(str(init)) and stages[3]["init"].startswith(str(first))
    # the first round's own file is unchanged by the second
    assert [s["stage"] for s in json.loads((first / "config.json").read_text())["training"]] == [
        "distill",
        "finetune",
        "finetune",
    ]


def test_unreadable_init_provenance_stops_before_training(tiny_lipsim, triplets, tmp_path):
    require("tqdm")
    from lipsim.train.finetune import finetune

    init = tiny_lipsim().save_pretrained(tmp_path / "bad", extra_config={"training": "distill"})
    with pytest.raises(ValueError) as info:
        finetune(_finetune_cfg(triplets, init, tmp_path / "ft", margin=0.2))
    assert str(info.value) == f"--init {init}: training provenance must be a list of stages (objects), got str"
    assert not (tmp_path / "ft" / "checkpoint.pt").exists()
