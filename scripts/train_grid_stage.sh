#!/usr/bin/env bash
# The layout-aware grid stage (an experiment, NOT shipped: docs/training.md, 'A grid stage', has what it measured):
#   scripts/train_grid_stage.sh DATA [WORKDIR]
# DATA: the photo collection (tiny-imagenet/*.tar, imagenet-samples/, bsds500/{train,val}/; only read).
# WORKDIR (default ./runs/grid): everything written. Every long step resumes: re-run the same command.
# Steps: split -> 2AFC triplets from the training photos -> one stage from the bundled v5 weights (sha256-pinned;
# scripts/train_default_weights.sh reproduces them) with a 2 x 2 grid pool and layout-aware targets, distilling with a
# hinge term -> evaluation sets -> threshold -> eval, layout check included.
set -euo pipefail
DATA=${1:?usage: scripts/train_grid_stage.sh DATA [WORKDIR]}
W=${2:-runs/grid}
T="lipsim-train"
HERE="$(dirname "${BASH_SOURCE[0]}")"
mkdir -p "$W"

# shared steps (split, triplets, evaluation sets, threshold, evaluation)
source "$HERE/_photos_and_evals.sh"

# 1. train/val split (the same split as every earlier version: a hash of each file name)
split_photos

# 2. 2,000 severity + 2,000 copy triplets of 224 px crops of the training photos
training_triplets

# 3. the grid stage (docs/training.md, 'A grid stage'): v5's network with a 2 x 2 grid pool (its head widened so the
#    stage starts from v5's function), regressing the top 512 principal coordinates of a layout-aware teacher
#    (EfficientNet-Lite0 stage features pooled on the same grid, its 1280-d head, and a count sketch of ST-LPIPS-Alex
#    feature maps), new crops (seed 2), each step 16 triplets under a hinge of margin 0.05; 1,200 steps at lr 5e-4.
#    The recipe is scripts/recipes/distill-grid-stage.json; paths come on the command line.
STAGE=(--config "$HERE/recipes/distill-grid-stage.json" --images "$W/photos/train/tiny-imagenet" --out "$W/distill"
  --extra-pools '[{"images": "'"$W"'/photos/train_hires", "pool_size": 3000, "image_size": 128, "batch_size": 16, "side_px": [96, 256]}]'
  --init efficient-native-v5 --two-afc "$W/triplets/joint")
if [ ! -f "$W/distill/model/config.json" ]; then
  if [ -f "$W/distill/checkpoint.pt" ]; then
    $T distill "${STAGE[@]}" --resume
  else
    $T distill "${STAGE[@]}"
  fi
fi

# 4.-6. evaluation sets, threshold, evaluation beside the earlier weights (scripts/_photos_and_evals.sh)
calibrate_and_evaluate "$W/distill" efficient-native-v5 efficient-native-v4
