"""Publish a lipsim weights directory to the Hugging Face Hub (not run in CI; needs a token and the internet).

    python scripts/publish_weights.py DIR REPO_ID [--revision-message MSG] [--private]

DIR is a ``LipSim.save_pretrained`` directory (config.json + model.safetensors) or a directory holding a bundled
``*.safetensors`` file plus its ``README.md`` model card. The script checks the weights load, uploads the folder,
and prints the sha256 and the commit to pin in ``src/lipsim/pretrained/catalog.py`` (``hub_revision``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("directory")
    p.add_argument("repo_id", help="e.g. lipsim/efficient-photos64-v1")
    p.add_argument("--revision-message", default="Upload lipsim weights")
    p.add_argument("--private", action="store_true")
    args = p.parse_args(argv)

    from huggingface_hub import HfApi

    import lipsim
    from lipsim.pretrained import sha256_file

    d = Path(args.directory)
    files = sorted(d.glob("*.safetensors"))
    if not files:
        print(f"error: no .safetensors file in {d}", file=sys.stderr)
        return 2
    for f in files:
        lipsim.LipSim(weights=str(d if (d / "config.json").is_file() else f))  # refuses broken weights
        print(f"{f.name}: sha256 {sha256_file(f)}")
    api = HfApi()
    api.create_repo(args.repo_id, exist_ok=True, private=args.private)
    info = api.upload_folder(repo_id=args.repo_id, folder_path=str(d), commit_message=args.revision_message)
    print(f"uploaded to {args.repo_id}; pin hub_revision={info.oid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
