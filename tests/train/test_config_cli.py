"""lipsim-train distill / finetune flags generated from the config dataclasses, and --config recipe files.

The commands of scripts/train_default_weights.sh and train_weights_v{1,2,3,4}.sh are read from the scripts
themselves, so a flag they use cannot stop working unnoticed.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import pytest

from lipsim.train.cli import build_parser, main
from lipsim.train.config_cli import add_config_arguments, config_from_args, flag_name
from lipsim.train.configs import DistillConfig, FinetuneConfig

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
CONFIGS = {"distill": DistillConfig, "finetune": FinetuneConfig}
#: the --extra-pools of the v3-v5 scripts and the grid stage: native-scale crops of the larger training photos
HIRES_POOLS = [
    {"images": "W/photos/train_hires", "pool_size": 3000, "image_size": 128, "batch_size": 16, "side_px": [96, 256]}
]


def _config(argv: list[str]):
    args = build_parser().parse_args(argv)
    return config_from_args(CONFIGS[args.command], args)


# ------------------------------------------------------------------------------------------- the scripts' commands
def _script_commands(path: Path, command: str, variables: dict[str, str]) -> list[list[str]]:
    """argv (after ``lipsim-train``) of every ``command`` invocation in the bash script ``path``.

    Continuation lines are joined, each ``ARRAY=( ... )`` is expanded where ``"${ARRAY[@]}"`` appears, and
    ``"$NAME"`` / ``$NAME`` are replaced by ``variables[NAME]``.
    """
    text = path.read_text().replace("\\\n", " ")
    for array in re.finditer(r"^([A-Z0-9_]+)=\((.*?)\)\n", text, re.S | re.M):
        text = text.replace(f'"${{{array.group(1)}[@]}}"', array.group(2).replace("\n", " "))
    for name, value in variables.items():
        text = text.replace(f'"${name}"', shlex.quote(value)).replace(f"${name}", value)
    found = []
    for line in text.splitlines():
        m = re.search(rf"(?:lipsim-train|\$T) {command} (.*?)(?:;|$)", line)
        if m:
            found.append([command, *shlex.split(m.group(1))])
    return found


def _ensemble(script: str) -> str:
    m = re.search(r"^ENSEMBLE='(.*)'$", script, re.M)
    assert m
    return m.group(1)


def _v4_second_stage_config() -> DistillConfig:
    """v4's second stage: v3's recipe file with the overrides of scripts/train_weights_v4.sh."""
    return replace(
        _v3_distill_config(),
        out="W/distill2",
        warmup_steps=100,
        lr=0.0005,
        steps=4000,
        seed=1,
        init="W/distill",
        target_basis="W/distill/basis.npz",
        teacher_batch_size=128,
    )


def test_v4_script_second_stage_flags():
    """v4: v3's distillation (the v3 script), then a second stage: v3's recipe file with overrides."""
    script = SCRIPTS / "train_weights_v4.sh"
    assert '"$HERE/train_weights_v3.sh" "$DATA" "$W" --distill-only' in script.read_text()
    variables = {"W": "W", "HERE": str(SCRIPTS), "BASIS": "W/distill/basis.npz"}
    resumed, first = _script_commands(script, "distill", variables)
    expected = _v4_second_stage_config()
    assert _config(first) == expected
    assert _config(resumed) == replace(expected, resume=True)
    assert not _script_commands(script, "finetune", variables)


def test_v5_script_third_stage_flags():
    """v5: v4's two stages (the v4 script), then a third: v3's recipe file, v4's overrides and the hinge term."""
    script = SCRIPTS / "train_default_weights.sh"
    text = script.read_text()
    assert '"$HERE/train_weights_v4.sh" "$DATA" "$W" --distill-only' in text and "\ntraining_triplets\n" in text
    variables = {"W": "W", "HERE": str(SCRIPTS), "BASIS": "W/distill/basis.npz", "P": "W/photos/train_hires"}
    resumed, first = _script_commands(script, "distill", variables)
    expected = replace(
        _v4_second_stage_config(),
        out="W/distill3",
        warmup_steps=50,
        lr=0.0004,
        steps=800,
        init="W/distill2",
        two_afc="W/triplets/joint",
        two_afc_batch_size=32,
        margin=0.05,
        hinge_weight=1.0,
    )
    assert _config(first) == expected
    assert _config(resumed) == replace(expected, resume=True)


def test_training_triplets_flags():
    """The 224 px severity and copy triplets of the training photos that v5's third stage and the grid stage use."""
    variables = {"W": "W", "P": "W/photos/train_hires"}
    commands = _script_commands(SCRIPTS / "_photos_and_evals.sh", "make-2afc", variables)
    severity, copies = (build_parser().parse_args(argv) for argv in commands if "train" in argv)
    for args, seed, share in ((severity, 21, 0.0), (copies, 23, 1.0)):
        assert (args.images, args.n, args.size, args.split) == ("W/photos/train_hires", 2000, 224, "train")
        assert args.seed == seed and args.crop_scale == [0.5, 1.0] and args.copies == share


def test_grid_stage_script_flags():
    """The grid stage: one stage from the bundled v5 with the grid arch and the layout-aware teacher of its recipe."""
    script = SCRIPTS / "train_grid_stage.sh"
    text = script.read_text()
    assert "\nsplit_photos\n" in text and "\ntraining_triplets\n" in text
    resumed, first = _script_commands(script, "distill", {"W": "W", "HERE": str(SCRIPTS)})
    recipe = json.loads((SCRIPTS / "recipes" / "distill-grid-stage.json").read_text())
    expected = DistillConfig(
        **dict(recipe, crop_scale=tuple(recipe["crop_scale"])),
        images="W/photos/train/tiny-imagenet",
        out="W/distill",
        extra_pools=HIRES_POOLS,
        init="efficient-native-v5",
        two_afc="W/triplets/joint",
    )
    assert _config(first) == expected
    assert _config(resumed) == replace(expected, resume=True)
    assert expected.arch_config["grid"] == 2 and expected.steps == 1200
    members = expected.teacher_kwargs["members"]
    assert [m["name"] for m in members] == ["efficientnet-lite0", "efficientnet-lite0", "stlpips-alex"]
    assert members[0]["kwargs"]["grid"] == 2


def _v3_distill_config() -> DistillConfig:
    """The v3 distillation: scripts/recipes/distill-v3.json plus the paths of a work directory ``W``."""
    ensemble = {
        "members": [
            {"name": "efficientnet-lite0", "kwargs": {"embedding": "mean", "layers": [2, 4, 6]}},
            {"name": "efficientnet-lite0", "kwargs": {"embedding": "deep"}},
        ]
    }
    return DistillConfig(
        images="W/photos/train/tiny-imagenet",
        out="W/distill",
        teacher="ensemble",
        teacher_kwargs=ensemble,
        arch_config={"native_resolution": True, "max_size": 512, "head_width": 1024, "isometric": True},
        image_size=64,
        pool_size=45463,
        crop_scale=(0.5, 1.0),
        distort_share=0.3,
        extra_pools=HIRES_POOLS,
        warmup_steps=200,
        batch_size=256,
        lr=0.001,
        checkpoint_every=100,
        log_every=20,
        steps=7000,
        target_dims=512,
    )


def test_v3_script_distill_flags():
    """v3: isometric student, principal targets, one cosine schedule (resumed with --resume); the recipe a file."""
    script = SCRIPTS / "train_weights_v3.sh"
    resumed, first = _script_commands(script, "distill", {"W": "W", "HERE": str(SCRIPTS)})
    assert first[first.index("--config") + 1] == str(SCRIPTS / "recipes" / "distill-v3.json")
    expected = _v3_distill_config()
    assert _config(first) == expected
    assert _config(resumed) == DistillConfig(**{**asdict(expected), "resume": True})


def test_v2_script_distill_flags():
    script = SCRIPTS / "train_weights_v2.sh"
    ensemble = _ensemble(script.read_text())
    first, resumed = _script_commands(script, "distill", {"W": "W", "ENSEMBLE": ensemble})
    expected = DistillConfig(
        images="W/photos/train/tiny-imagenet",
        out="W/distill",
        teacher="ensemble",
        teacher_kwargs=json.loads(ensemble),
        arch_config={"native_resolution": True, "max_size": 512, "head_width": 2048},
        image_size=64,
        pool_size=45463,
        crop_scale=(0.5, 1.0),
        distort_share=0.3,
        extra_pools=[
            {
                "images": "W/photos/train_hires",
                "pool_size": 3000,
                "image_size": 128,
                "batch_size": 24,
                "side_px": [96, 256],
            }
        ],
        warmup_steps=80,
        batch_size=96,
        lr=0.005,
        checkpoint_every=50,
        log_every=10,
        steps=2000,
        stop_after=450,
    )
    assert _config(first) == expected
    resumed_cfg = _config(resumed)
    assert resumed_cfg == DistillConfig(
        **{**asdict(expected), "steps": 1300, "stop_after": None, "resume": True, "crop_scale": (0.5, 1.0)}
    )


def test_v1_script_distill_and_finetune_flags():
    script = SCRIPTS / "train_weights_v1.sh"
    (distill,) = _script_commands(script, "distill", {"W": "W"})
    assert _config(distill) == DistillConfig(
        images="W/train_photos",
        out="W/distill",
        teacher="vgg16",
        teacher_kwargs={"embedding": "mean"},
        steps=300,
        warmup_steps=15,
        batch_size=128,
        image_size=64,
        pool_size=2048,
        lr=0.005,
        checkpoint_every=25,
    )
    ft1, ft2 = _script_commands(script, "finetune", {"W": "W"})
    common = dict(
        data="W/syn_train",
        format="bapps",
        split="train",
        margin=0.2,
        steps=700,
        batch_size=64,
        lr=0.003,
        checkpoint_every=50,
    )
    assert _config(ft1) == FinetuneConfig(init="W/distill/model", out="W/ft1", **common)
    assert _config(ft2) == FinetuneConfig(init="W/ft1/model", out="W/finetune", **common)


def test_v3_run_command_flags():
    """The command line of the v3 distillation that resumes with --resume (kept in its run directory)."""
    argv = [
        "distill",
        "--images",
        "P/train/tiny-imagenet",
        "--out",
        "R/distill",
        "--teacher",
        "ensemble",
        "--teacher-kwargs",
        '{"members": [{"name": "efficientnet-lite0", "kwargs": {"embedding": "deep"}}]}',
        "--arch-config",
        '{"native_resolution": true, "max_size": 512, "head_width": 1024, "isometric": true}',
        "--image-size",
        "64",
        "--pool-size",
        "45463",
        "--crop-scale",
        "0.5",
        "1",
        "--distort-share",
        "0.3",
        "--extra-pools",
        '[{"images": "P/train_hires", "pool_size": 3000, "image_size": 128, "batch_size": 16, "side_px": [96, 256]}]',
        "--warmup-steps",
        "200",
        "--batch-size",
        "256",
        "--lr",
        "0.001",
        "--checkpoint-every",
        "100",
        "--log-every",
        "20",
        "--steps",
        "7000",
        "--target-dims",
        "512",
        "--resume",
    ]
    cfg = _config(argv)
    assert cfg.target_dims == 512 and cfg.resume is True and cfg.lr == 0.001 and cfg.warmup_steps == 200
    assert cfg.arch_config == {"native_resolution": True, "max_size": 512, "head_width": 1024, "isometric": True}
    assert cfg.extra_pools[0]["batch_size"] == 16 and cfg.crop_scale == (0.5, 1.0)
    assert cfg.checkpoint_every == 100 and cfg.log_every == 20 and cfg.steps == 7000 and cfg.batch_size == 256
    assert _config(
        [
            "distill",
            "--images",
            "i",
            "--out",
            "o",
            "--steps",
            "1",
            "--batch-size",
            "1",
            "--arch-config",
            '{"isometric": true}',
        ]
    ).arch_config == {"isometric": True}


# ------------------------------------------------------------------------------------------- flags and defaults
@pytest.mark.parametrize("command", ["distill", "finetune"])
def test_every_field_has_a_flag_with_help(command):
    sub = build_parser()._subparsers._group_actions[0].choices[command]
    flags = {s for a in sub._actions for s in a.option_strings}
    for f in fields(CONFIGS[command]):
        assert flag_name(f.name) in flags and f.metadata.get("help"), f.name


def test_unset_flags_take_the_dataclass_defaults():
    assert _config(["distill", "--images", "i", "--out", "o", "--steps", "5", "--batch-size", "4"]) == DistillConfig(
        images="i", out="o", steps=5, batch_size=4
    )
    assert _config(
        [
            "finetune",
            "--data",
            "d",
            "--format",
            "nights",
            "--init",
            "m",
            "--out",
            "o",
            "--steps",
            "5",
            "--batch-size",
            "4",
        ]
    ) == FinetuneConfig(data="d", format="nights", init="m", out="o", steps=5, batch_size=4)


def test_flag_spellings_and_types():
    base = ["distill", "--images", "i", "--out", "o", "--steps", "5", "--batch-size", "4"]
    cfg = _config(
        [
            *base,
            "--no-progress",
            "--resume",
            "--no-amp",
            "--side-px",
            "96",
            "256",
            "--crop-scale",
            "0.5",
            "1",
            "--betas",
            "0.9",
            "0.99",
            "--teacher-batch-size",
            "8",
            "--channels-last",
            "--arch",
            "efficient",
        ]
    )
    assert (cfg.progress, cfg.resume, cfg.amp, cfg.channels_last) == (False, True, False, True)
    assert cfg.side_px == (96, 256) and cfg.crop_scale == (0.5, 1.0) and cfg.betas == (0.9, 0.99)
    assert cfg.teacher_batch_size == 8 and cfg.arch == "efficient" and cfg.amp is False


@pytest.mark.parametrize(
    "flags",
    [
        ["--teacher-kwargs", "[1]"],
        ["--extra-pools", "{}"],
        ["--arch", "nope"],
        ["--arch-config", "{bad"],
        ["--steps", "1.5"],
    ],
)
def test_bad_flag_values_are_usage_errors(flags, capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(
            ["distill", "--images", "i", "--out", "o", "--steps", "5", "--batch-size", "4", *flags]
        )
    assert e.value.code == 2 and flags[0] in capsys.readouterr().err


def test_missing_required_options_are_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["distill", "--images", "i", "--steps", "1"])
    assert e.value.code == 2
    assert capsys.readouterr().err == (
        "lipsim-train: error: the following arguments are required: --out, "
        "--batch-size (on the command line or in --config FILE.json)\n"
    )


# ------------------------------------------------------------------------------------------- --config recipes
def test_config_file_with_flags_overriding(tmp_path):
    recipe = tmp_path / "recipe.json"
    recipe.write_text(
        json.dumps(
            {
                "images": "i",
                "out": "o",
                "steps": 300,
                "batch-size": 128,
                "lr": 0.005,
                "crop_scale": [0.5, 1],
                "arch_config": {"head_width": 1024},
            }
        )
    )
    cfg = _config(["distill", "--config", str(recipe), "--lr", "0.001", "--out", "elsewhere"])
    assert cfg == DistillConfig(
        images="i",
        out="elsewhere",
        steps=300,
        batch_size=128,
        lr=0.001,
        crop_scale=(0.5, 1.0),
        arch_config={"head_width": 1024},
    )
    assert isinstance(cfg.crop_scale[1], float)


def test_a_runs_recorded_config_is_a_recipe(tmp_path):
    run = FinetuneConfig(data="d", format="bapps", init="m", out="o", steps=7, batch_size=4, margin=0.5, stop_after=3)
    recipe = tmp_path / "finetune_config.json"
    recipe.write_text(json.dumps(asdict(run), indent=2))  # as the loop writes OUT/finetune_config.json
    assert _config(["finetune", "--config", str(recipe)]) == run
    assert _config(["finetune", "--config", str(recipe), "--resume"]) == FinetuneConfig(
        **{**asdict(run), "betas": tuple(run.betas), "resume": True}
    )


@pytest.mark.parametrize(
    "content, message",
    [
        ({"images": "i", "nope": 1}, "unknown option 'nope'"),
        ({"images": "i", "steps": "10"}, "steps must be a int, got '10'"),
        ({"images": "i", "lr": True}, "lr must be a float, got True"),
        ({"images": "i", "crop_scale": [0.5]}, "crop_scale must be a list of 2 float values"),
        ({"images": "i", "arch": "nope"}, "--arch: invalid choice 'nope'"),
        ({"images": None}, "images cannot be null"),
        ([1, 2], "expected a JSON object of options"),
    ],
)
def test_bad_recipes_are_clear_errors(tmp_path, capsys, content, message):
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps(content))
    with pytest.raises(SystemExit) as e:
        main(["distill", "--config", str(recipe), "--out", "o", "--steps", "1", "--batch-size", "1"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith("lipsim-train: error: ") and message in err, err


# ------------------------------------------------------------------------------------------- the generator itself
def test_annotations_map_to_argparse():
    @dataclass
    class Options:
        name: str = field(metadata={"help": "a name"})
        sizes: tuple[int, ...] = (1,)
        limit: int | None = None
        table: dict[str, int] = field(default_factory=dict)
        on: bool = True

    p = argparse.ArgumentParser()
    add_config_arguments(p, Options)
    opts = config_from_args(
        Options, p.parse_args(["--name", "x", "--sizes", "2", "3", "--limit", "4", "--table", '{"a": 1}', "--no-on"])
    )
    assert opts == Options(name="x", sizes=(2, 3), limit=4, table={"a": 1}, on=False)
    assert config_from_args(Options, p.parse_args(["--name", "x"])) == Options(name="x")


def test_unsupported_annotations_are_refused():
    @dataclass
    class Options:
        when: complex = 0j

    with pytest.raises(TypeError, match="no command-line form"):
        add_config_arguments(argparse.ArgumentParser(), Options)
