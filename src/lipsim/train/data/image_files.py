"""Finding and reading image files: extensions, recursive listing, RGB decoding, and :class:`ImageFiles`.

Unreadable files: at construction :class:`ImageFiles` reads every candidate file's header (and, with
``verify=True``, decodes the whole image). With ``on_error="raise"`` (default) the first unreadable file
raises a ``ValueError`` naming it; with ``on_error="skip"`` it is dropped with a ``UserWarning`` naming it.
A file that breaks later, while it is decoded, always raises a ``ValueError`` naming the file.

Example:
    >>> import os, tempfile
    >>> from PIL import Image
    >>> from lipsim.train.data.image_files import ImageFiles, read_image
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for i, colour in enumerate(["red", "navy"]):
    ...     Image.new("RGB", (40, 30), colour).save(os.path.join(tmp.name, f"photo{i}.png"))
    >>> files = ImageFiles(tmp.name)
    >>> [p.name for p in files.files], files.sizes
    (['photo0.png', 'photo1.png'], [(40, 30), (40, 30)])
    >>> files.image(1).mode, read_image(files.files[1], image_size=16).shape
    ('RGB', torch.Size([3, 16, 16]))
    >>> tmp.cleanup()
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch import Tensor

_ON_ERROR = ("raise", "skip")
_EXIF_ORIENTATION = 0x0112


@functools.lru_cache(maxsize=1)
def image_extensions() -> frozenset[str]:
    """Lower-case file extensions (with the dot) that the installed Pillow can open (computed once)."""
    return frozenset(ext.lower() for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN)


def list_images(root: str | os.PathLike) -> list[Path]:
    """List files with an image extension under ``root``, recursively, sorted by relative path.

    Hidden files and folders (name starting with ``.``) are ignored; symlinks are followed.

    Args:
        root: Folder to search.

    Returns:
        Sorted list of paths.

    Raises:
        ValueError: If ``root`` is not a directory.

    Example:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> for name in ["b.png", "a.jpg", ".hidden.png"]:
        ...     Image.new("RGB", (4, 4)).save(os.path.join(tmp.name, name))
        >>> [p.name for p in list_images(tmp.name)]
        ['a.jpg', 'b.png']
        >>> tmp.cleanup()
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"image folder {str(root)!r} does not exist or is not a directory")
    exts = image_extensions()
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in exts:
                found.append(Path(dirpath) / name)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def load_rgb(path: str | os.PathLike) -> Image.Image:
    """Decode an image file as an RGB PIL image with :func:`lipsim.image_io.load_image_pil`.

    The package's one reading policy: regular files only, EXIF orientation applied, alpha composited
    over white, high-depth grayscale converted by its real range, a pixel limit, first frame of animations.

    Args:
        path: Image file.

    Returns:
        A loaded ``PIL.Image`` in mode ``"RGB"``.

    Raises:
        ValueError: (an ImageError) the file cannot be read or is refused; the message names it and says why.
        FileNotFoundError: nothing exists at ``path``.

    Example:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "gray_alpha.png")
        >>> Image.new("LA", (4, 3)).save(path)
        >>> load_rgb(path).mode
        'RGB'
        >>> tmp.cleanup()
    """
    from ...image_io import load_image_pil

    return load_image_pil(path)


def pil_to_uint8(img: Image.Image) -> Tensor:
    """Convert an RGB PIL image to a uint8 tensor (3, H, W)."""
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


def read_image(path: str | os.PathLike, image_size: int | tuple[int, int] | None = None) -> Tensor:
    """Read an image file as a float tensor (3, H, W) in [0, 1], optionally resized.

    Args:
        path: Image file (any format Pillow opens; converted to RGB).
        image_size: ``None`` keeps the size; an int gives a square; a pair is (height, width).
            Resizing is bicubic with antialiasing, then clamped to [0, 1].

    Returns:
        Float32 tensor (3, H, W).

    Example:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "ref.png")
        >>> Image.new("RGB", (40, 30), "white").save(path)
        >>> read_image(path).shape, read_image(path, image_size=16).shape
        (torch.Size([3, 30, 40]), torch.Size([3, 16, 16]))
        >>> tmp.cleanup()
    """
    x = pil_to_uint8(load_rgb(path)).float().div_(255.0)
    if image_size is None:
        return x
    hw = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if tuple(x.shape[-2:]) == hw:
        return x
    x = F.interpolate(x[None], size=hw, mode="bicubic", align_corners=False, antialias=True)[0]
    return x.clamp_(0.0, 1.0)


class ImageFiles:
    """The readable image files under a folder, their (width, height) and cached decoding.

    Args:
        root: Folder searched recursively (see :func:`list_images`).
        on_error: ``"raise"`` or ``"skip"`` for files Pillow cannot read.
        verify: Fully decode each file at construction.
        cache: Keep decoded images in memory.

    Example:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> Image.new("RGB", (40, 30)).save(os.path.join(tmp.name, "photo.png"))
        >>> files = ImageFiles(tmp.name)
        >>> files.sizes[0]
        (40, 30)
        >>> tmp.cleanup()
    """

    def __init__(
        self, root: str | os.PathLike, on_error: str = "raise", verify: bool = False, cache: bool = False
    ) -> None:
        if on_error not in _ON_ERROR:
            raise ValueError(f"on_error must be one of {_ON_ERROR}, got {on_error!r}")
        self.root = Path(root)
        self.files: list[Path] = []
        self.sizes: list[tuple[int, int]] = []
        self._cache: dict[int, Image.Image] | None = {} if cache else None
        for path in list_images(self.root):
            try:
                if verify:
                    size = load_rgb(path).size
                else:
                    with Image.open(path) as img:
                        size = img.size
                        if img.getexif().get(_EXIF_ORIENTATION, 1) in (5, 6, 7, 8):  # rotated by 90 degrees
                            size = size[::-1]
            except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
                msg = f"cannot read image file {str(path)!r}: {exc}"
                if on_error == "raise":
                    raise ValueError(msg + " (pass on_error='skip' to leave it out)") from exc
                warnings.warn(msg + "; skipped", UserWarning, stacklevel=3)
                continue
            self.files.append(path)
            self.sizes.append(size)
        if not self.files:
            raise ValueError(
                f"no readable images under {str(self.root)!r} "
                f"(searched recursively for extensions {sorted(image_extensions())[:12]}...)"
            )

    def image(self, i: int) -> Image.Image:
        if self._cache is not None and i in self._cache:
            return self._cache[i]
        img = load_rgb(self.files[i])
        if self._cache is not None:
            self._cache[i] = img
        return img
