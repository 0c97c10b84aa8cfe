"""Private helper: downloading a file from the Hugging Face Hub, with the environment read at call time."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import WeightsError

__all__: list[str] = []


def _env_offline() -> bool:
    """Whether HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set now."""
    truthy = ("1", "true", "yes", "on")
    return any(os.environ.get(v, "").strip().lower() in truthy for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _env_cache_dir() -> str | None:
    """The Hub cache folder the environment names now (HF_HUB_CACHE, else HF_HOME/hub), or None for the default.

    huggingface_hub reads these variables once, when it is imported; reading them at call time means a
    variable set later (in a notebook, a test, a launcher script) is still honoured.
    """
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return os.path.expandvars(os.path.expanduser(os.environ[var]))
    if os.environ.get("HF_HOME"):
        return os.path.join(os.path.expandvars(os.path.expanduser(os.environ["HF_HOME"])), "hub")
    return None


def hub_download(repo_id: str, filename: str, revision: str | None = None) -> Path:
    """Download (or find in the local cache) ``filename`` of a Hub repo.

    HF_HUB_OFFLINE, HF_HUB_CACHE and HF_HOME are read at call time (not only when huggingface_hub was imported).
    """
    try:
        from huggingface_hub import hf_hub_download
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise WeightsError(f"huggingface_hub is required to download {repo_id}/{filename}: {e}") from None
    offline = _env_offline()
    try:
        return Path(
            hf_hub_download(
                repo_id=repo_id,
                filename=filename,
                revision=revision,
                cache_dir=_env_cache_dir(),
                local_files_only=offline,
            )
        )
    except Exception as e:  # connection, offline-mode cache miss, 404, auth: all end in the same message
        mode = "HF_HUB_OFFLINE is set and the file is not in the local cache" if offline else type(e).__name__
        raise WeightsError(
            f"could not get {filename!r} from the Hugging Face Hub repo {repo_id!r}"
            f"{f' at revision {revision}' if revision else ''} ({mode}: {str(e).splitlines()[0] if str(e) else ''})"
        ) from None
