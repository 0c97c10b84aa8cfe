#!/usr/bin/env bash
# Reproduce the weights efficient-native-v3 (the default before v4; model card: weights/README-v3.md), CPU only.
#   scripts/train_weights_v3.sh DATA [WORKDIR] [--distill-only]
# DATA: the photo collection (tiny-imagenet/*.tar, imagenet-samples/, bsds500/{train,val}/; only read).
# WORKDIR (default ./runs/v3): everything written. Every long step resumes: re-run the same command.
# Steps: split -> distillation (teacher ensemble, two crop pools) -> evaluation sets -> threshold -> eval.
# --distill-only stops after the distillation (scripts/train_default_weights.sh continues from there).
set -euo pipefail
DATA=${1:?usage: scripts/train_weights_v3.sh DATA [WORKDIR] [--distill-only]}
W=${2:-runs/v3}
ONLY=${3:-}
T="lipsim-train"
mkdir -p "$W"

# shared steps (split, evaluation sets, threshold, evaluation)
source "$(dirname "${BASH_SOURCE[0]}")/_photos_and_evals.sh"

# 1. train/val split (scripts/_photos_and_evals.sh)
split_photos

# 2. distillation: EfficientNet-Lite0 'mean' over stages 3/5/7 (perceptual) + its 1280-d head (semantic),
#    one pool of 64 px Tiny ImageNet crops and one of native-scale 128 px crops of the larger photos,
#    30% of all crops with a fixed random distortion the teacher sees too; the student runs at native resolution,
#    starts from isometric AOL layers and regresses the teacher's top 512 principal coordinates
#    (docs/training.md, 'Principal targets'). Resumable: re-run the script (or add --stop-after N to split it).
ENSEMBLE='{"members":[{"name":"efficientnet-lite0","kwargs":{"embedding":"mean","layers":[2,4,6]}},{"name":"efficientnet-lite0","kwargs":{"embedding":"deep"}}]}'
DISTILL=(--images "$W/photos/train/tiny-imagenet" --out "$W/distill" --teacher ensemble --teacher-kwargs "$ENSEMBLE"
  --arch-config '{"native_resolution": true, "max_size": 512, "head_width": 1024, "isometric": true}' --image-size 64
  --pool-size 45463 --crop-scale 0.5 1 --distort-share 0.3
  --extra-pools '[{"images": "'"$W"'/photos/train_hires", "pool_size": 3000, "image_size": 128, "batch_size": 16, "side_px": [96, 256]}]'
  --warmup-steps 200 --batch-size 256 --lr 0.001 --steps 7000 --target-dims 512 --checkpoint-every 100 --log-every 20)
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
