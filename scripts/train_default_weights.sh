#!/usr/bin/env bash
# Reproduce the bundled default weights efficient-native-v5 (model card: weights/README.md) on a CPU-only machine.
#   scripts/train_default_weights.sh DATA [WORKDIR]
# DATA: the photo collection (tiny-imagenet/*.tar, imagenet-samples/, bsds500/{train,val}/; only read).
# WORKDIR (default ./runs/v5): everything written. Every long step resumes: re-run the same command.
# Steps: split + v4's two distillation stages -> 2AFC triplets from the training photos -> a third stage that
# distils with a hinge term on them -> evaluation sets -> threshold -> eval.
set -euo pipefail
DATA=${1:?usage: scripts/train_default_weights.sh DATA [WORKDIR]}
W=${2:-runs/v5}
T="lipsim-train"
HERE="$(dirname "${BASH_SOURCE[0]}")"
mkdir -p "$W"

# shared steps (split, evaluation sets, threshold, evaluation)
source "$HERE/_photos_and_evals.sh"

# 1.-2. the train/val split, v3's distillation into $W/distill and v4's second stage into $W/distill2
"$HERE/train_weights_v4.sh" "$DATA" "$W" --distill-only

# 2c. triplets at 224 px from the training photos (scripts/_photos_and_evals.sh)
training_triplets

# 2d. a third stage from v4 (docs/training.md, 'Distillation with a hinge term'): the second stage's pools and
#     teacher embeddings (linked: the cache is keyed by the crops' content), and each step 32 of the triplets under a
#     hinge of margin 0.05 beside the distillation loss; lr 4e-4, 800 steps
mkdir -p "$W/distill3"
for f in "$W"/distill2/pool_*.npy "$W"/distill2/teacher_*; do ln -sfn "$(readlink -f "$f")" "$W/distill3/"; done
BASIS=$(ls "$W"/distill/basis_*_k512.npz)
STAGE3=(--config "$HERE/recipes/distill-v3.json" --images "$W/photos/train/tiny-imagenet" --out "$W/distill3"
  --extra-pools '[{"images": "'"$W"'/photos/train_hires", "pool_size": 3000, "image_size": 128, "batch_size": 16, "side_px": [96, 256]}]'
  --seed 1 --lr 0.0004 --warmup-steps 50 --steps 800 --init "$W/distill2" --target-basis "$BASIS" --teacher-batch-size 128
  --two-afc "$W/triplets/joint" --two-afc-batch-size 32 --margin 0.05 --hinge-weight 1)
if [ ! -f "$W/distill3/model/config.json" ]; then
  if [ -f "$W/distill3/checkpoint.pt" ]; then
    $T distill "${STAGE3[@]}" --resume
  else
    $T distill "${STAGE3[@]}"
  fi
fi

# 3.-5. evaluation sets, threshold, evaluation beside the earlier weights (scripts/_photos_and_evals.sh)
calibrate_and_evaluate "$W/distill3" efficient-native-v4 efficient-native-v3 efficient-native-v2 efficient-photos64-v1
