#!/usr/bin/env bash
# Install the photo-only training material listed in shared/data-and-teachers.md and
# optionally gather it into one folder.
#
# Usage:
#   scripts/get_training_images.sh [TARGET_DIR] [--copy]
#
# Without TARGET_DIR the script only installs the Debian packages and lists the photos.
# With TARGET_DIR it symlinks (or, with --copy, copies) exactly these photos into it:
#   - the 12 nature photos of mate-backgrounds (/usr/share/backgrounds/mate/nature/*.jpg, GPL-2+),
#   - the 11 photographic plasma-workspace-wallpapers, 2560x1600.jpg only (LGPL-3),
#   - the colour photos shipped in scikit-image's skimage.data, written as PNG (mostly CC0).
# Nothing else from these packages (illustrations, abstract wallpapers) is used.
# Needs root (or sudo) for apt-get; python3 with scikit-image for the last step.
set -euo pipefail

TARGET=""
MODE="symlink"
for arg in "$@"; do
    case "$arg" in
        --copy) MODE="copy" ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        -*) echo "unknown option: $arg (expected --copy or a target directory)" >&2; exit 2 ;;
        *)
            if [[ -n "$TARGET" ]]; then
                echo "only one target directory is accepted, got '$TARGET' and '$arg'" >&2; exit 2
            fi
            TARGET="$arg" ;;
    esac
done

SUDO=""
if [[ "$(id -u)" != "0" ]]; then
    SUDO="sudo"
fi

echo "== installing mate-backgrounds and plasma-workspace-wallpapers"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends \
    mate-backgrounds plasma-workspace-wallpapers

PLASMA_PHOTOS=(FallenLeaf Path DarkestHour summer_1am EveningGlow Grey Kite ColorfulCups
               OneStandsOut ColdRipple BytheWater)

PHOTOS=()
shopt -s nullglob
MATE=(/usr/share/backgrounds/mate/nature/*.jpg)
shopt -u nullglob
if [[ ${#MATE[@]} -eq 0 ]]; then
    echo "no photos found in /usr/share/backgrounds/mate/nature/ (is mate-backgrounds installed?)" >&2
    exit 1
fi
PHOTOS+=("${MATE[@]}")
for name in "${PLASMA_PHOTOS[@]}"; do
    f="/usr/share/wallpapers/$name/contents/images/2560x1600.jpg"
    if [[ ! -f "$f" ]]; then
        echo "expected plasma photo missing: $f" >&2
        exit 1
    fi
    PHOTOS+=("$f")
done

echo "== ${#PHOTOS[@]} Debian photos:"
printf '  %s\n' "${PHOTOS[@]}"

if [[ -z "$TARGET" ]]; then
    echo "no target directory given: nothing copied"
    exit 0
fi

mkdir -p "$TARGET"
for f in "${PHOTOS[@]}"; do
    if [[ "$f" == /usr/share/wallpapers/* ]]; then
        # plasma files are all called 2560x1600.jpg: name them after their wallpaper
        rel="${f#/usr/share/wallpapers/}"
        dest="$TARGET/plasma_${rel%%/*}.jpg"
    else
        dest="$TARGET/mate_$(basename "$f")"
    fi
    rm -f "$dest"
    if [[ "$MODE" == "copy" ]]; then
        cp "$f" "$dest"
    else
        ln -s "$f" "$dest"
    fi
done

echo "== writing scikit-image colour photos"
python3 - "$TARGET" <<'PY'
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

target = Path(sys.argv[1])
# The colour photographs of everyday scenes in skimage.data; grayscale, synthetic, astronomy,
# microscopy and medical images are left out.
loaders = {
    "astronaut": lambda: data.astronaut(),
    "chelsea": lambda: data.chelsea(),
    "coffee": lambda: data.coffee(),
    "rocket": lambda: data.rocket(),
    "motorcycle_left": lambda: data.stereo_motorcycle()[0],
    "motorcycle_right": lambda: data.stereo_motorcycle()[1],
}
for name, load in loaders.items():
    arr = np.asarray(load())
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        sys.exit(f"skimage.data {name}: expected a uint8 (H, W, 3) colour image, got {arr.dtype} {arr.shape}")
    dest = target / f"skimage_{name}.png"
    Image.fromarray(arr).save(dest)
    print(f"  {dest}")
PY

echo "== $TARGET now holds:"
ls -1 "$TARGET" | sed 's/^/  /'
echo "($(ls -1 "$TARGET" | wc -l) files)"
