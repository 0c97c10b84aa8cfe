"""Build a Hugging Face Hub cache by hand (the documented layout), for offline loading tests.

<cache>/models--{org}--{name}/refs/main            -> "<commit hash>"
<cache>/models--{org}--{name}/blobs/<sha256>        the file contents
<cache>/models--{org}--{name}/snapshots/<commit>/<file>  -> ../../blobs/<sha256> (relative symlink)
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def populate_hub_cache(cache: Path, repo_id: str, files: dict[str, Path], commit: str = COMMIT) -> Path:
    """Put ``files`` (name -> local file) in the cache as repo ``repo_id`` at ``commit`` (also refs/main)."""
    org, name = repo_id.split("/")
    repo = cache / f"models--{org}--{name}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True, exist_ok=True)
    (repo / "blobs").mkdir(exist_ok=True)
    for fname, src in files.items():
        digest = hashlib.sha256(Path(src).read_bytes()).hexdigest()
        blob = repo / "blobs" / digest
        shutil.copyfile(src, blob)
        link = snap / fname
        try:
            os.symlink(os.path.relpath(blob, link.parent), link)
        except OSError:  # no symlinks on this filesystem: a plain copy is also a valid snapshot entry
            shutil.copyfile(blob, link)
    return snap
