"""An optional progress bar: tqdm when it is installed and asked for, otherwise nothing."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["Progress"]


class Progress:
    """A counter shown with tqdm on stderr when ``enabled`` and tqdm is importable; silent otherwise.

    Example:
        >>> with Progress(total=3, desc="embedding", enabled=False) as bar:
        ...     bar.update(3)
    """

    def __init__(self, total: int, desc: str, enabled: bool = True) -> None:
        self._bar: Any = None
        if enabled and total > 0:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self._bar = tqdm(total=total, desc=desc, unit="img", file=sys.stderr, leave=False)

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
