"""Publish lipsim weights to the Hugging Face Hub (not run in CI; needs a token and the internet).

    python scripts/publish_weights.py DIR REPO_ID [--revision-message MSG] [--private]
    python scripts/publish_weights.py --all [--dry-run]

DIR is a ``LipSim.save_pretrained`` directory (config.json + model.safetensors) or a directory holding a bundled
``*.safetensors`` file plus its ``README.md`` model card. The script checks the weights load, uploads the folder,
and prints the sha256 and the commit to pin in ``src/lipsim/pretrained/catalog.py`` (``hub_revision``).

``--all`` publishes every registered file this checkout holds (weights/ and weights/archive/), each with its model
card (weights/README-vN.md, or README.md for the default) to its registered Hub repo, tagged with its registered
revision; the wheel bundles only the default and one earlier version, so the others load from there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("directory", nargs="?")
    p.add_argument("repo_id", nargs="?", help="e.g. lipsim/efficient-photos64-v1")
    p.add_argument("--all", action="store_true", help="publish every registered file of this checkout")
    p.add_argument("--dry-run", action="store_true", help="with --all: list what would be uploaded")
    p.add_argument("--revision-message", default="Upload lipsim weights")
    p.add_argument("--private", action="store_true")
    args = p.parse_args(argv)
    if args.all:
        return _publish_all(args.dry_run, args.private)
    if not (args.directory and args.repo_id):
        p.error("give DIR and REPO_ID, or --all")

    from huggingface_hub import HfApi

    import lipsim
    from lipsim.pretrained import sha256_file

    d = Path(args.directory)
    files = sorted(d.glob("*.safetensors"))
    if not files:
        print(f"error: no .safetensors file in {d}", file=sys.stderr)
        return 2
    for f in files:
        sha = sha256_file(f)  # a file about to be published is pinned by nothing yet: this is the digest to pin
        weights = str(d if (d / "config.json").is_file() else f)
        lipsim.LipSim(weights=weights, expected_sha256=None if weights == str(d) else sha)  # refuses broken weights
        print(f"{f.name}: sha256 {sha}")
    api = HfApi()
    api.create_repo(args.repo_id, exist_ok=True, private=args.private)
    info = api.upload_folder(repo_id=args.repo_id, folder_path=str(d), commit_message=args.revision_message)
    print(f"uploaded to {args.repo_id}; pin hub_revision={info.oid}")
    return 0


def _card(file_name: str, default: bool) -> str:
    """The model card of a weights file: README.md for the default, README-vN.md for version N."""
    version = file_name.rsplit("-v", 1)[-1].split(".")[0]
    return "README.md" if default else f"README-v{version}.md"


def _publish_all(dry_run: bool, private: bool) -> int:
    import shutil
    import tempfile

    import lipsim
    from lipsim.pretrained import get_weights_spec, list_weights, sha256_file
    from lipsim.pretrained.bundled import bundled_file

    root = Path(__file__).resolve().parents[1] / "weights"
    for name in list_weights():
        spec = get_weights_spec(name)
        path = bundled_file(spec.file)
        if spec.sha256 is None or spec.hub_repo is None or path is None:
            print(f"{name}: skipped (no file in this checkout or no Hub repo registered)")
            continue
        if sha256_file(path) != spec.sha256:
            print(f"error: {path} does not match the sha256 registered for {name}", file=sys.stderr)
            return 2
        card = root / _card(spec.file, spec.default)
        print(f"{name}: {path} + {card.name} -> {spec.hub_repo} (tag {spec.hub_revision})")
        if dry_run:
            continue
        from huggingface_hub import HfApi

        lipsim.LipSim(weights=name)  # refuses broken weights
        api = HfApi()
        api.create_repo(spec.hub_repo, exist_ok=True, private=private)
        with tempfile.TemporaryDirectory() as d:
            shutil.copy(path, Path(d) / spec.file)
            if card.is_file():
                shutil.copy(card, Path(d) / "README.md")
            info = api.upload_folder(repo_id=spec.hub_repo, folder_path=d, commit_message=f"lipsim weights {name}")
        if spec.hub_revision:
            api.create_tag(spec.hub_repo, tag=spec.hub_revision, revision=info.oid, exist_ok=True)
        print(f"  uploaded; pin hub_revision={info.oid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
