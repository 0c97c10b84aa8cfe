"""Training provenance of a weights config: ``config["training"]``, the list of stages that made the weights.

Each stage is a dict with a ``"stage"`` name (``"distill"``, ``"finetune"``, ...) and that stage's settings,
oldest first, so a model fine-tuned twice records both rounds (docs/weights-format.md, 'Training provenance').
Files written before the list form hold one dict: the distillation's settings with the last fine-tuning round
nested under ``"finetune"`` (earlier rounds were overwritten and are lost). :func:`training_stages` reads both.

Example:
    >>> old = {"stage": "distill", "teacher": "vgg16", "finetune": {"margin": 0.2}}
    >>> training_stages(old)
    [{'stage': 'distill', 'teacher': 'vgg16'}, {'stage': 'finetune', 'margin': 0.2}]
    >>> [s["stage"] for s in append_stage(old, {"stage": "finetune", "margin": 0.5})]
    ['distill', 'finetune', 'finetune']
"""

from __future__ import annotations

from typing import Any

__all__ = ["training_stages", "append_stage"]


def training_stages(training: Any) -> list[dict[str, Any]]:
    """The stages recorded in a config's ``"training"`` value (None: none), as a new list of new dicts.

    Raises:
        ValueError: ``training`` is neither a list of objects, nor a legacy object, nor None.
    """
    if training is None:
        return []
    if isinstance(training, list):
        for i, stage in enumerate(training):
            if not isinstance(stage, dict):
                raise ValueError(
                    f"training provenance must be a list of objects (one per stage); item {i} is a "
                    f"{type(stage).__name__}"
                )
        return [dict(stage) for stage in training]
    if isinstance(training, dict):  # the legacy form: one stage, the last fine-tuning round nested in it
        first = {k: v for k, v in training.items() if k != "finetune"}
        stages = [first] if first else []
        nested = training.get("finetune")
        if nested is not None:
            if not isinstance(nested, dict):
                raise ValueError(f"training provenance: 'finetune' must be an object, got {type(nested).__name__}")
            stages.append({"stage": "finetune", **nested})
        return stages
    raise ValueError(f"training provenance must be a list of stages (objects), got {type(training).__name__}")


def append_stage(training: Any, stage: dict[str, Any]) -> list[dict[str, Any]]:
    """The stages of ``training`` (any form :func:`training_stages` reads) followed by ``stage``.

    Raises:
        ValueError: ``stage`` is not a dict with a ``"stage"`` name, or ``training`` is unreadable.
    """
    if not isinstance(stage, dict) or not isinstance(stage.get("stage"), str):
        raise ValueError(f"a training stage must be a dict with a 'stage' name, got {stage!r:.100}")
    return [*training_stages(training), dict(stage)]
