# Steps shared by scripts/train_default_weights.sh and scripts/train_weights_v{2,3,4}.sh (sourced, not run).
# The caller sets DATA (the photo collection), W (the work directory) and T (the lipsim-train command).

# 1. train/val split by a hash of each file name (10% val; BSDS500 keeps its own val folder)
split_photos() {
  $T prepare-data --data "$DATA" --out "$W/photos" --val-share 0.1
  mkdir -p "$W/photos/train_hires" "$W/photos/val_hires"
  for s in train val; do
    ln -sfn "$(readlink -f "$W/photos/$s/imagenet-samples")" "$W/photos/${s}_hires/imagenet-samples"
    ln -sfn "$(readlink -f "$W/photos/$s/bsds500")" "$W/photos/${s}_hires/bsds500"
  done
}

# 2AFC triplets at 224 px from the *training* photos (docs/training.md, '2AFC sets'): 2,000 severity triplets and
# 2,000 copy triplets (a mild copy of the reference against another photo), linked into one BAPPS-layout set
# $W/triplets/joint for the hinge term of distillation.
training_triplets() {
  local P="$W/photos/train_hires" d
  [ -d "$W/triplets/severity/2afc/train" ] || $T make-2afc --images "$P" --out "$W/triplets/severity" --n 2000 \
    --seed 21 --size 224 --split train --crop-scale 0.5 1
  [ -d "$W/triplets/copies/2afc/train" ] || $T make-2afc --images "$P" --out "$W/triplets/copies" --n 2000 \
    --seed 23 --size 224 --split train --crop-scale 0.5 1 --copies 1
  mkdir -p "$W/triplets/joint/2afc/train"
  for d in "$W"/triplets/severity/2afc/train/*/ "$W"/triplets/copies/2afc/train/*/; do
    ln -sfn "$(readlink -f "$d")" "$W/triplets/joint/2afc/train/$(basename "$d")"
  done
}

# 3.-5. evaluation sets from the held-out photos at the sizes people compare (224 and 512 px), the recommended
# same/different threshold (stored in the config.json of the run directory FINAL's model), and the evaluation of
# FINAL beside the weights named in the other arguments, plus the reference metrics on the severity set.
#   calibrate_and_evaluate FINAL [WEIGHTS...]
calibrate_and_evaluate() {
  local E="$W/eval" FINAL="$1" M N
  shift
  [ -d "$E/sev224" ] || $T make-2afc --images "$W/photos/val_hires" --out "$E/sev224" --n 350 --seed 11 --size 224 \
    --split val --crop-scale 0.5 1
  [ -d "$E/cross224_raw" ] || $T make-2afc --images "$W/photos/val_hires" --out "$E/cross224_raw" --n 400 --seed 12 \
    --size 224 --split val --crop-scale 0.5 1 --cross-family 1 --label-metric lpips-alex
  [ -f "$E/cross224/consensus.json" ] || $T consensus --data "$E/cross224_raw" --split val --out "$E/cross224"
  [ -d "$E/cross512_raw" ] || $T make-2afc --images "$W/photos/val_hires" --out "$E/cross512_raw" --n 60 --seed 13 \
    --size 512 --split val --crop-scale 0.5 1 --cross-family 1 --label-metric lpips-alex
  [ -f "$E/cross512/consensus.json" ] || $T consensus --data "$E/cross512_raw" --split val --out "$E/cross512"

  $T calibrate --weights "$FINAL" --images "$W/photos/val_hires" --write > "$E/calibration.json"

  for M in "$FINAL" "$@"; do
    N=$(basename "$M")
    $T eval --data "$E/sev224" --format bapps --split val --weights "$M" --l2-eps 2.0 --linf-eps 0 --attack-steps 20 \
      --attack-max-triplets 15 --out "$E/$N-sev224.json"
    $T eval --data "$E/cross224" --format bapps --split val --weights "$M" --attack-steps 0 --out "$E/$N-cross224.json"
    $T eval --data "$E/cross512" --format bapps --split val --weights "$M" --attack-steps 0 --out "$E/$N-cross512.json"
    $T knn --weights "$M" --images "$W/photos/val/tiny-imagenet" > "$E/$N-knn.json"
    $T layout --weights "$M" --images "$W/photos/val_hires" --out "$E/$N-layout.json" > /dev/null
  done
  $T layout --weights "$FINAL" --images "$W/photos/val_hires" --reference lpips-alex --reference stlpips-alex \
    --out "$E/references-layout.json" > /dev/null
  $T eval --data "$E/sev224" --format bapps --split val --weights "$FINAL" --reference lpips-alex \
    --reference lpips-vgg --reference dists --reference stlpips-alex --l2-eps 2.0 --linf-eps 0 --attack-steps 20 \
    --attack-max-triplets 3 --out "$E/references-sev224.json"
}
