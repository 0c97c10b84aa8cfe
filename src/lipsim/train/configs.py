"""Options of the training stages (``lipsim-train distill`` and ``finetune``), the one place their defaults live.

Each field is a command-line flag (``train/config_cli.py``: ``--field-name``, help from the field's metadata) and
a key of a ``--config`` recipe; runs record them in ``OUT/<stage>_config.json`` and in every checkpoint. The
module needs neither torch nor the ``train`` extra, so the command line builds without them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["DistillConfig", "FinetuneConfig", "loop_option", "LOOP_HELP"]

#: help of the options every training stage has (the flags of ``lipsim-train distill`` and ``finetune``)
LOOP_HELP = {
    "steps": "optimisation steps",
    "batch_size": "global batch size (split over torchrun processes)",
    "lr": "peak learning rate",
    "betas": "Adam's betas",
    "warmup_steps": "linear warm-up steps (-1: 5% of --steps)",
    "grad_clip": "max gradient norm (0: off)",
    "seed": "seed of every random stream (crops, batches, views)",
    "checkpoint_every": "write the atomic checkpoint every N steps",
    "log_every": "append a row to OUT/log.csv every N steps",
    "device": "cpu, cuda, cuda:N (default: cuda if available, else cpu)",
    "resume": "continue from OUT/checkpoint.pt",
    "stop_after": "end this invocation after N steps (checkpointed); continue with --resume",
    "progress": "show the progress bar",
}

#: options a command line must state (``--steps``, ``--batch-size``); Python callers get the dataclass default
_REQUIRED_ON_CLI = {"steps", "batch_size"}


def loop_option(name: str, default: Any) -> Any:
    """The dataclass field of the shared option ``name`` with default ``default`` and its help text.

    Examples:
        >>> from dataclasses import dataclass, fields
        >>> @dataclass
        ... class Stage:
        ...     lr: float = loop_option("lr", 0.01)
        >>> Stage().lr, fields(Stage)[0].metadata["help"]
        (0.01, 'peak learning rate')
    """
    metadata = {"help": LOOP_HELP[name], **({"required": True} if name in _REQUIRED_ON_CLI else {})}
    return field(default=default, metadata=metadata)


def _arch_names() -> list[str]:
    from ..archs import list_archs

    return list_archs()


@dataclass
class DistillConfig:
    """Options of :func:`lipsim.train.distill.distill`; field ``name`` is the flag ``--name`` of ``distill``."""

    images: str = field(metadata={"help": "folder of photos (searched recursively)"})
    out: str = field(metadata={"help": "output directory (checkpoint.pt, log.csv, model/)"})
    teacher: str | None = field(
        default=None,
        metadata={
            "help": "teacher name (lipsim.train.teachers.list_teachers(); default: the measured offline default)"
        },
    )
    teacher_kwargs: dict[str, Any] = field(
        default_factory=dict, metadata={"help": 'JSON options of the teacher, e.g. \'{"embedding": "mean"}\''}
    )
    arch: str | None = field(
        default=None, metadata={"help": "student architecture (default: efficient)", "choices": _arch_names}
    )
    arch_config: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "JSON options of the architecture, e.g. '{\"head_width\": 1024}'"}
    )
    image_size: int = field(default=224, metadata={"help": "training (and the model's native) resolution"})
    steps: int = loop_option("steps", 1000)
    batch_size: int = loop_option("batch_size", 32)
    lr: float = loop_option("lr", 0.01)
    betas: tuple[float, float] = loop_option("betas", (0.5, 0.9))
    weight_decay: float = field(default=0.0, metadata={"help": "Adam's weight decay"})
    warmup_steps: int = loop_option("warmup_steps", -1)
    grad_clip: float = loop_option("grad_clip", 1.0)
    pool_size: int = field(default=2048, metadata={"help": "fixed crops whose teacher embeddings are cached"})
    crop_scale: tuple[float, float] = field(
        default=(0.08, 1.0),
        metadata={"help": "crop area as a share of the image's largest square", "metavar": ("LOW", "HIGH")},
    )
    side_px: tuple[int, int] | None = field(
        default=None,
        metadata={
            "help": "crop side in pixels instead of --crop-scale (keeps the photos' own pixel scale)",
            "metavar": ("LOW", "HIGH"),
        },
    )
    distort_share: float = field(
        default=0.0, metadata={"help": "share of pool crops given a fixed random distortion that the teacher sees too"}
    )
    extra_pools: list[dict[str, Any]] = field(
        default_factory=list,
        metadata={
            "help": "JSON list of more pools: objects with images, pool_size, image_size, batch_size and optionally "
            "crop_scale, side_px, distort_share (default: this run's), e.g. "
            '\'[{"images": "DIR", "pool_size": 3000, "image_size": 128, "batch_size": 32, "side_px": [96, 256]}]\''
        },
    )
    seed: int = loop_option("seed", 0)
    checkpoint_every: int = loop_option("checkpoint_every", 200)
    log_every: int = loop_option("log_every", 10)
    device: str | None = loop_option("device", None)
    amp: bool | None = field(default=None, metadata={"help": "bf16 autocast (default: on CUDA)"})
    channels_last: bool | None = field(
        default=None, metadata={"help": "channels-last memory layout (default: on CUDA)"}
    )
    resume: bool = loop_option("resume", False)
    stop_after: int | None = loop_option("stop_after", None)
    teacher_batch_size: int = field(default=32, metadata={"help": "batch size of the teacher embedding the pools"})
    progress: bool = loop_option("progress", True)
    target_dims: int | None = field(
        default=None,
        metadata={"help": "regress the teacher embedding's top-k principal subspace (default: the whole embedding)"},
    )
    init: str | None = field(
        default=None,
        metadata={
            "help": "continue from this model (a run directory, a save_pretrained directory or a safetensors file) as "
            "a new stage with its own schedule; --arch and --arch-config must describe its architecture"
        },
    )
    target_basis: str | None = field(
        default=None,
        metadata={
            "help": "with --target-dims: the basis_*.npz of the run that made --init, so the student keeps "
            "regressing the same coordinates (default: computed from this run's first pool)"
        },
    )
    two_afc: str | None = field(
        default=None,
        metadata={
            "help": "2AFC set in the BAPPS layout (e.g. make-2afc output) whose triplets add a hinge term to the "
            "distillation loss (docs/training.md, 'Distillation with a hinge term'); default: distillation only"
        },
    )
    two_afc_split: str = field(default="train", metadata={"help": "split of --two-afc to train on"})
    two_afc_batch_size: int = field(default=32, metadata={"help": "triplets of --two-afc per step"})
    hinge_weight: float = field(default=1.0, metadata={"help": "weight of the hinge term (with --two-afc)"})
    margin: float = field(default=0.05, metadata={"help": "hinge margin m (with --two-afc)"})


@dataclass
class FinetuneConfig:
    """Options of :func:`lipsim.train.finetune.finetune`; field ``name`` is the flag ``--name`` of ``finetune``."""

    data: str = field(metadata={"help": "dataset root"})
    format: str = field(metadata={"help": "layout of the dataset", "choices": ("bapps", "nights")})
    init: str = field(
        metadata={
            "help": "model to start from: a run directory (the --out of distill, meaning its "
            "model/), a save_pretrained directory or a safetensors file"
        }
    )
    out: str = field(metadata={"help": "output directory (checkpoint.pt, log.csv, model/)"})
    split: str = field(default="train", metadata={"help": "split to train on (make-2afc writes train)"})
    steps: int = loop_option("steps", 500)
    batch_size: int = loop_option("batch_size", 32)
    margin: float = field(default=0.2, metadata={"help": "hinge margin m"})
    lr: float = loop_option("lr", 1e-3)
    betas: tuple[float, float] = loop_option("betas", (0.5, 0.9))
    warmup_steps: int = loop_option("warmup_steps", -1)
    grad_clip: float = loop_option("grad_clip", 1.0)
    seed: int = loop_option("seed", 0)
    checkpoint_every: int = loop_option("checkpoint_every", 100)
    log_every: int = loop_option("log_every", 10)
    device: str | None = loop_option("device", None)
    resume: bool = loop_option("resume", False)
    stop_after: int | None = loop_option("stop_after", None)
    progress: bool = loop_option("progress", True)
