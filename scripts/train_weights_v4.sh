#!/usr/bin/env bash
# Reproduce the weights efficient-native-v4 (the default before v5; model card: weights/README-v4.md), CPU only.
#   scripts/train_weights_v4.sh DATA [WORKDIR] [--distill-only]
# DATA: the photo collection (tiny-imagenet/*.tar, imagenet-samples/, bsds500/{train,val}/; only read).
# WORKDIR (default ./runs/v4): everything written. Every long step resumes: re-run the same command.
# Steps: split + v3's distillation -> a second distillation stage -> evaluation sets -> threshold -> eval.
# (No hinge fine-tuning: on 224 px severity triplets it cost k-NN and same/different accuracy; README-v4.md.)
# --distill-only stops after the second stage (scripts/train_default_weights.sh continues from there).
set -euo pipefail
DATA=${1:?usage: scripts/train_weights_v4.sh DATA [WORKDIR] [--distill-only]}
W=${2:-runs/v4}
ONLY=${3:-}
T="lipsim-train"
HERE="$(dirname "${BASH_SOURCE[0]}")"
mkdir -p "$W"

# shared steps (split, evaluation sets, threshold, evaluation)
source "$HERE/_photos_and_evals.sh"

# 1.-2. the train/val split and v3's 7,000-step distillation into $W/distill (scripts/train_weights_v3.sh)
"$HERE/train_weights_v3.sh" "$DATA" "$W" --distill-only

# 2b. a second distillation stage from it: seed 1 (new crops, views and distortions in both pools; their teacher
#     embeddings are computed once more), half the learning rate, 4,000 steps, the same 512 principal coordinates
#     (docs/training.md, 'A second stage'): v3's recipe file with these changes on the command line
BASIS=$(ls "$W"/distill/basis_*_k512.npz)
STAGE2=(--config "$HERE/recipes/distill-v3.json" --images "$W/photos/train/tiny-imagenet" --out "$W/distill2"
  --extra-pools '[{"images": "'"$W"'/photos/train_hires", "pool_size": 3000, "image_size": 128, "batch_size": 16, "side_px": [96, 256]}]'
  --seed 1 --lr 0.0005 --warmup-steps 100 --steps 4000 --init "$W/distill" --target-basis "$BASIS" --teacher-batch-size 128)
if [ ! -f "$W/distill2/model/config.json" ]; then
  if [ -f "$W/distill2/checkpoint.pt" ]; then
    $T distill "${STAGE2[@]}" --resume
  else
    $T distill "${STAGE2[@]}"
  fi
fi
[ "$ONLY" = "--distill-only" ] && exit 0

# 3.-5. evaluation sets, threshold, evaluation beside the earlier weights (scripts/_photos_and_evals.sh)
calibrate_and_evaluate "$W/distill2" efficient-native-v3 efficient-native-v2 efficient-photos64-v1
