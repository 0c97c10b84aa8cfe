"""Old public names kept for a while: each use warns and names the new one."""

from __future__ import annotations

import warnings

__all__ = ["warn_renamed"]


def warn_renamed(old: str, new: str, stacklevel: int = 3) -> None:
    """Emit the DeprecationWarning of a public name that was renamed (``stacklevel`` points at the caller).

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_renamed("EmbeddingBatch.pnorm", "EmbeddingBatch.resize_norm")
        >>> str(caught[0].message)
        'EmbeddingBatch.pnorm is deprecated; use EmbeddingBatch.resize_norm'
    """
    warnings.warn(f"{old} is deprecated; use {new}", DeprecationWarning, stacklevel=stacklevel)
