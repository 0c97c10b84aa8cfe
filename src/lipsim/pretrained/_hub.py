"""Private helpers: locating bundled weight files and downloading from the Hugging Face Hub."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from ..errors import WeightsError

__all__: list[str] = []

_SOURCE_TREE_WEIGHTS = Path(__file__).resolve().parents[3] / "weights"


def bundled_file(name: str) -> Path | None:
    """Path of ``name`` shipped in the wheel (lipsim/_bundled_weights) or, in a source checkout, weights/."""
    try:
        candidate = Path(str(resources.files("lipsim") / "_bundled_weights" / name))
        if candidate.is_file():
            return candidate
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - importlib edge cases
        pass
    candidate = _SOURCE_TREE_WEIGHTS / name
    return candidate if candidate.is_file() else None


def hub_download(repo_id: str, filename: str, revision: str | None = None) -> Path:
    """Download (or find in the local cache) ``filename`` of a Hub repo; honours HF_HUB_OFFLINE."""
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise WeightsError(f"huggingface_hub is required to download {repo_id}/{filename}: {e}") from None
    try:
        return Path(hf_hub_download(repo_id=repo_id, filename=filename, revision=revision))
    except Exception as e:  # connection, offline-mode cache miss, 404, auth: all end in the same message
        offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
        mode = "HF_HUB_OFFLINE is set and the file is not in the local cache" if offline else type(e).__name__
        raise WeightsError(
            f"could not get {filename!r} from the Hugging Face Hub repo {repo_id!r}"
            f"{f' at revision {revision}' if revision else ''} ({mode}: {str(e).splitlines()[0] if str(e) else ''})"
        ) from None
