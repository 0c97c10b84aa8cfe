#!/usr/bin/env bash
# Reproduce the weights efficient-native-v3 (the default before v4; model card: weights/README-v3.md), CPU only.
#   scripts/train_weights_v3.sh DATA [WORKDIR] [--distill-only]
# DATA: the photo collection (tiny-imagenet/*.tar, imagenet-samples/, bsds500/{train,val}/; only read).
# WORKDIR (default ./runs/v3): everything written. Every long step resumes: re-run the same command.
# Steps: split -> distillation (teacher ensemble, two crop pools) -> evaluation sets -> threshold -> eval.
# --distill-only stops after the distillation (scripts/train_weights_v4.sh continues from there).
set -euo pipefail
DATA=${1:?usage: scripts/train_weights_v3.sh DATA [WORKDIR] [--distill-only]}
W=${2:-runs/v3}
ONLY=${3:-}
T="lipsim-train"
HERE="$(dirname "${BASH_SOURCE[0]}")"
mkdir -p "$W"

# shared steps (split, evaluation sets, threshold, evaluation)
source "$HERE/_photos_and_evals.sh"

# 1. train/val split (scripts/_photos_and_evals.sh)
split_photos

# 2. distillation: EfficientNet-Lite0 'mean' over stages 3/5/7 (perceptual) + its 1280-d head (semantic),
#    one pool of 64 px Tiny ImageNet crops and one of native-scale 128 px crops of the larger photos,
#    30% of all crops with a fixed random distortion the teacher sees too; the student runs at native resolution,
#    starts from isometric AOL layers and regresses the teacher's top 512 principal coordinates
#    (docs/training.md, 'Principal targets'). Resumable: re-run the script (or add --stop-after N to split it).
# The recipe (teacher, student, pools, schedule) is scripts/recipes/distill-v3.json; paths come on the command line.
DISTILL=(--config "$HERE/recipes/distill-v3.json" --images "$W/photos/train/tiny-imagenet" --out "$W/distill"
  --extra-pools '[{"images": "'"$W"'/photos/train_hires", "pool_size": 3000, "image_size": 128, "batch_size": 16, "side_px": [96, 256]}]')
if [ ! -f "$W/distill/model/config.json" ]; then
  if [ -f "$W/distill/checkpoint.pt" ]; then
    $T distill "${DISTILL[@]}" --resume
  else
    $T distill "${DISTILL[@]}"
  fi
fi

[ "$ONLY" = "--distill-only" ] && exit 0

# 3.-5. evaluation sets, threshold, evaluation beside the earlier weights (scripts/_photos_and_evals.sh)
calibrate_and_evaluate "$W/distill" efficient-native-v2 efficient-photos64-v1
