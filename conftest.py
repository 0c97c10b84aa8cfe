"""Collection rules for the whole run: the tests under tests/ and the docstring examples under src/lipsim.

``python3 -m pytest -q`` also runs every docstring example of the package (``--doctest-modules``, set in
pyproject.toml). Modules that need the ``train`` or ``torchmetrics`` extra are left out of that collection when it
is not installed, so a plain install skips them instead of failing to import them.
"""

from __future__ import annotations

import importlib
import importlib.util
import os

# Before anything imports huggingface_hub (which reads these once): examples and tests never touch the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


#: Paths (relative to this file) whose docstring examples are not collected.
collect_ignore: list[str] = []
if not all(_importable(m) for m in ("tqdm", "matplotlib")):  # lipsim.train needs the train extra
    collect_ignore.append("src/lipsim/train")
if importlib.util.find_spec("torchmetrics") is None:  # lipsim.metrics needs the torchmetrics extra
    collect_ignore.append("src/lipsim/metrics.py")
