"""Reading image files: the one reading path of the package (metric, CLI, training, evaluation).

An image is read from a path, from ``bytes`` (a whole encoded file held in memory: PNG, JPEG, ...) or from a
binary file object (``open(path, "rb")``, ``io.BytesIO``, anything with ``read`` and ``seek`` returning bytes;
it is read from its start, as Pillow does, and left open). ``bytes`` are always image data, never a file name.

Policy, the same for every caller and every kind of source:

- **Only regular files** are opened from a path. A directory, FIFO, socket or device, a broken symbolic link or a
  symbolic-link loop is refused up front with an :class:`~lipsim.errors.ImageError` saying what the path is
  (a FIFO is never opened for reading, so nothing blocks). A file object opened in text mode is refused with an
  ImageError saying to open it with ``"rb"``.
- **Pixel limit.** An image of more than ``max_pixels`` pixels (default :data:`DEFAULT_MAX_PIXELS`,
  8192 x 8192) is refused from its header, before anything is decoded; pass a larger ``max_pixels``
  (``--max-pixels`` on the command line) or ``None`` to lift it. Pillow's own decompression-bomb check is
  replaced by this one, so its warning and error never surface.
- **EXIF orientation** is applied (phone photos come out upright), as by ``PIL.ImageOps.exif_transpose``.
- **Alpha** (RGBA, LA, PA, palette or colour-key transparency) is composited over white:
  ``out = alpha * colour + (1 - alpha) * 255`` in 8 bits (``PIL.Image.alpha_composite``).
- **Colour modes.** RGB, grayscale (8-bit, 1-bit), palette, CMYK and YCbCr images become RGB. High-depth
  grayscale is converted by its real range, never clipped: 16-bit (``I;16``, and ``I`` from PNG, PPM/PGM or a
  16-bit TIFF) is divided by 65535; float images (``F``) must already hold values in [0, 1] and are used as
  they are. Anything else (a 32-bit integer TIFF, floats outside [0, 1] or non-finite) is refused with an
  ImageError naming the range found, rather than guessed.
- **Animations and multi-page files**: the first frame is used, with a ``UserWarning`` saying so.

PIL images passed directly to the metric are taken as given (no EXIF rotation: the caller decoded them).

Example:
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "clear.png")
    >>> Image.new("RGBA", (6, 4), (255, 0, 0, 0)).save(path)   # transparent red
    >>> img = load_image(path)                                  # composited over white
    >>> img.shape, img.dtype, float(img.min())
    (torch.Size([3, 4, 6]), torch.float32, 1.0)
    >>> tmp.cleanup()
"""

from __future__ import annotations

import errno
import io
import os
import stat
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from .errors import ImageError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "ImageSource",
    "check_image_path",
    "describe_path",
    "image_size",
    "load_image",
    "load_image_pil",
    "pil_to_tensor",
]

#: Largest image (width x height) read without an explicit ``max_pixels``: 8192 x 8192 = 67,108,864 pixels
#: (an RGB image that large needs about 0.8 GB as float32).
DEFAULT_MAX_PIXELS = 8192 * 8192

PathLike = str | os.PathLike
#: What the readers take: a path, the bytes of an encoded image, or a binary file object.
ImageSource = str | os.PathLike | bytes | bytearray | memoryview | IO[bytes]

_GRAY16_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
_HIGH_DEPTH_GRAY = (*_GRAY16_MODES, "I", "F")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
_ORIENTATION_TAG = 0x0112
# EXIF orientation (TIFF 6.0 / EXIF 2.3: 1 = upright) -> the transpose that makes the image upright
_ORIENT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_PIL_LIMIT_LOCK = threading.Lock()


# ------------------------------------------------------------------------------------------------ paths
def describe_path(path: PathLike) -> str:
    """What ``path`` is: "regular file", "directory", "FIFO (named pipe)", "socket", "character device",
    "block device", "broken symbolic link", "symbolic link loop", "missing", "inaccessible path" or
    "special file". Symbolic links are followed.

    Example:
        >>> describe_path("/")
        'directory'
    """
    p = os.fspath(path)
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        return "broken symbolic link" if os.path.lexists(p) else "missing"
    except NotADirectoryError:
        return "missing"
    except OSError as e:
        return "symbolic link loop" if e.errno == errno.ELOOP else "inaccessible path"
    for test, name in (
        (stat.S_ISREG, "regular file"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISFIFO, "FIFO (named pipe)"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
    ):
        if test(mode):
            return name
    return "special file"  # pragma: no cover - door files and the like


def check_image_path(path: PathLike) -> Path:
    """``path`` as a Path if it is a regular file (after following links); a clear error otherwise.

    Raises:
        TypeError: ``path`` is not a str or os.PathLike.
        FileNotFoundError: nothing exists at ``path``.
        ImageError: it exists but is not a regular file (the message says what it is).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"expected an image path (str or os.PathLike), got {type(path).__name__}")
    p = Path(path)
    kind = describe_path(p)
    if kind == "regular file":
        return p
    if kind == "missing":
        raise FileNotFoundError(f"image file not found: {str(p)!r}")
    if kind == "broken symbolic link":
        raise ImageError(
            f"expected an image file, got a broken symbolic link: {str(p)!r} -> {os.readlink(p)!r}, "
            "which does not exist"
        )
    if kind == "inaccessible path":
        raise PermissionError(f"cannot access {str(p)!r}: permission denied")
    raise ImageError(f"expected an image file, got a {kind}: {str(p)!r}")


def _open_regular(path: PathLike) -> tuple[Path, BinaryIO]:
    """Open ``path`` without blocking on a FIFO, and check (on the open descriptor) that it is a regular file."""
    p = check_image_path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(p, flags)
    except PermissionError:
        raise PermissionError(f"cannot read {str(p)!r}: permission denied") from None
    except OSError:  # replaced between the check and the open
        check_image_path(p)
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        check_image_path(p)  # raises, naming what it is now
        raise ImageError(f"expected an image file, got a special file: {str(p)!r}")  # pragma: no cover
    return p, os.fdopen(fd, "rb")


# ------------------------------------------------------------------------------------------------ decoding
def _check_max_pixels(max_pixels: int | None) -> None:
    if max_pixels is not None and (isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1):
        raise ValueError(f"max_pixels must be a positive int or None (no limit), got {max_pixels!r}")


@contextmanager
def _pil_bomb_check_off(active: bool = True) -> Iterator[None]:
    """Pillow's decompression-bomb check off (under a lock): lipsim checks the size itself, with its own limit."""
    if not active:
        yield
        return
    with _PIL_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _high_depth_gray(image: Image.Image, what: str, fmt: str | None, bits: int | None) -> np.ndarray:
    """(H, W) float32 in [0, 1] from a 16-bit, 32-bit integer or float grayscale image, by its real range."""
    mode = image.mode
    if mode in _GRAY16_MODES:
        return np.asarray(image).astype(np.float32) / 65535.0
    if mode == "F":
        a = np.array(image, dtype=np.float32)  # a writable copy
        if not np.isfinite(a).all():
            raise ImageError(f"{what}: float image (mode 'F') with NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if lo < 0.0 or hi > 1.0:
            raise ImageError(
                f"{what}: float image (mode 'F') with values in [{lo:.6g}, {hi:.6g}]; float images must hold "
                "intensities in [0, 1] (lipsim does not guess another range): rescale it first"
            )
        return a
    a = np.asarray(image, dtype=np.int64)  # mode "I": 32-bit signed integers
    if bits is None:
        raise ImageError(
            f"{what}: {fmt + ' ' if fmt else ''}image of 32-bit integers (mode 'I') whose white level is unknown; "
            "lipsim reads 8- and 16-bit integer images and float images in [0, 1]: convert it to one of those"
        )
    top = (1 << bits) - 1
    lo, hi = int(a.min()), int(a.max())
    if lo < 0 or hi > top:
        raise ImageError(f"{what}: {bits}-bit image (mode 'I') with values in [{lo}, {hi}], outside [0, {top}]")
    return a.astype(np.float32) / float(top)


def _integer_bits(image: Image.Image) -> int | None:
    """Bit depth of a mode-"I" image when its file format states it (PNG and PPM/PGM: 16), else None."""
    fmt = image.format
    if fmt in ("PNG", "PPM"):
        return 16  # Pillow opens 16-bit PNG (older versions) and PGM/PPM with maxval > 255 as "I" in [0, 65535]
    if fmt == "TIFF":
        tags = getattr(image, "tag_v2", {})
        bps = tags.get(258)
        bps = bps[0] if isinstance(bps, tuple) and bps else bps
        fmt_code = tags.get(339, 1)
        fmt_code = fmt_code[0] if isinstance(fmt_code, tuple) and fmt_code else fmt_code
        if bps in (8, 16) and fmt_code == 1:  # unsigned integers
            return int(bps)
    return None


def _has_alpha(image: Image.Image) -> bool:
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        return True
    return image.mode == "P" and image.palette is not None and image.palette.mode == "RGBA"


def _to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB, alpha composited over white."""
    if _has_alpha(image):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # noqa: BLE001 - a damaged EXIF block: Pillow raises many types; the pixels still decode
        return 1
    return value if isinstance(value, int) else 1


def _stream_name(stream: object) -> str:
    """How messages name a file object: its type and, when it has one, its file name."""
    name = getattr(stream, "name", None)
    kind = type(stream).__name__
    return f"{kind} {name!r}" if isinstance(name, (str, bytes)) else f"{kind} object"


def _check_binary_stream(stream: object) -> None:
    """Refuse a closed file object or one that yields text (opened without "b", or an io.StringIO)."""
    what = _stream_name(stream)
    if getattr(stream, "closed", False):
        raise ImageError(f"cannot read an image from {what}: the file object is closed")
    text = isinstance(stream, io.TextIOBase)
    if not text:
        try:
            text = isinstance(stream.read(0), str)  # type: ignore[attr-defined]
        except (OSError, ValueError) as e:
            raise ImageError(f"cannot read an image from {what} ({type(e).__name__}: {e})") from None
    if text:
        mode = getattr(stream, "mode", None)
        raise ImageError(
            f"expected a binary file object, got a text-mode one: {what}"
            f"{f' (mode {mode!r})' if isinstance(mode, str) else ''}; open the file with open(path, 'rb')"
        )


@contextmanager
def _binary_source(source: ImageSource) -> Iterator[tuple[IO[bytes], str, str]]:
    """(a binary stream over ``source``, how messages name it, "image file" or "image").

    A path is checked to be a regular file and opened without blocking (and closed afterwards); bytes are wrapped in
    an io.BytesIO; a file object is checked to be open and binary, and left open.
    """
    if isinstance(source, (str, os.PathLike)):
        p, f = _open_regular(source)
        with f:
            yield f, repr(str(p)), "image file"
        return
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        yield io.BytesIO(data), f"image bytes ({len(data):,} bytes)", "image"
        return
    if callable(getattr(source, "read", None)):
        _check_binary_stream(source)
        yield source, _stream_name(source), "image"
        return
    raise TypeError(
        "expected an image path (str or os.PathLike), bytes or a binary file object (open(path, 'rb'), "
        f"io.BytesIO), got {type(source).__name__}"
    )


@contextmanager
def _opened(source: ImageSource, max_pixels: int | None) -> Iterator[tuple[Image.Image, str, bool]]:
    """(the opened PIL image, how messages name the source, whether Pillow's limit must stay lifted while decoding).

    The source is opened by :func:`_binary_source` (a path: checked to be regular, opened without blocking); the
    header is parsed with Pillow's bomb check off and the size checked against ``max_pixels``. Every read failure
    becomes an ImageError naming the source.
    """
    _check_max_pixels(max_pixels)
    with _binary_source(source) as (f, what, noun):
        try:
            lift = max_pixels is None or (Image.MAX_IMAGE_PIXELS is not None and max_pixels > Image.MAX_IMAGE_PIXELS)
            with _pil_bomb_check_off():
                im = Image.open(f)
            with im:
                w, h = im.size
                if max_pixels is not None and w * h > max_pixels:
                    raise ImageError(
                        f"{what} is {w}x{h} = {w * h:,} pixels, more than the limit of {max_pixels:,}; "
                        "raise it with max_pixels= (lipsim-compare --max-pixels) if the file is trusted"
                    )
                yield im, what, lift
        except ImageError:
            raise
        except Image.DecompressionBombError as e:  # a limit the caller set on Pillow itself
            raise ImageError(f"{what} exceeds Pillow's MAX_IMAGE_PIXELS ({e})") from None
        except UnidentifiedImageError:  # Pillow's own text names the file descriptor, not the path
            raise ImageError(
                f"not a readable {noun}: {what} (UnidentifiedImageError: not in any image format Pillow reads)"
            ) from None
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            raise ImageError(f"not a readable {noun}: {what} ({type(e).__name__}: {e})") from None


def _decode(source: ImageSource, max_pixels: int | None) -> Image.Image | np.ndarray:
    """The upright image: an 8-bit RGB PIL image, or an (H, W) float32 array in [0, 1] for high-depth gray."""
    with _opened(source, max_pixels) as (im, what, lift):
        frames = getattr(im, "n_frames", 1)
        if isinstance(frames, int) and frames > 1:
            warnings.warn(
                f"{what} holds {frames} frames (an animation or multi-page file); only the first frame is used",
                UserWarning,
                stacklevel=3,
            )
        with _pil_bomb_check_off(lift):
            im.load()
        orientation = _orientation(im)
        if im.mode in _HIGH_DEPTH_GRAY:
            bits = _integer_bits(im) if im.mode == "I" else None
            out: Image.Image = Image.fromarray(_high_depth_gray(im, what, im.format, bits))  # mode F
        else:
            out = _to_rgb(im)
        if orientation in _ORIENT:
            out = out.transpose(_ORIENT[orientation])
    return np.array(out, dtype=np.float32) if out.mode == "F" else out  # a writable copy


def image_size(source: ImageSource, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """(width, height) of the image :func:`load_image` would return, read from the header only.

    The same sources and checks as :func:`load_image` (regular file, pixel limit, readable header); EXIF
    orientations that turn the image by 90 degrees swap the two. Nothing is decoded.

    Example:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "phone.jpg")
        >>> exif = Image.Exif()
        >>> exif[0x0112] = 6                                     # "rotate 90 degrees to view"
        >>> Image.new("RGB", (8, 6)).save(path, exif=exif)
        >>> image_size(path)                                     # the upright size
        (6, 8)
        >>> tmp.cleanup()
    """
    with _opened(source, max_pixels) as (im, _, _):
        w, h = im.size
        return (h, w) if _orientation(im) in (5, 6, 7, 8) else (w, h)


def load_image(source: ImageSource, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> torch.Tensor:
    """Read an image as a (3, H, W) float32 tensor in [0, 1] (the policy in the module docstring).

    Args:
        source: a path to a regular file, the bytes of an encoded image, or a binary file object (read from its
            start and left open), in a format Pillow reads.
        max_pixels: refuse images with more pixels than this (None: no limit).

    Raises:
        TypeError: ``source`` is none of the above.
        FileNotFoundError: nothing exists at the path.
        ImageError: (a ValueError) not a regular file, a text-mode or closed file object, not a readable image, too
            many pixels, or a pixel format without a known range.

    Example:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "gray16.png")
        >>> Image.fromarray(np.full((4, 5), 65535, dtype=np.uint16)).save(path)   # 16-bit grayscale
        >>> img = load_image(path)
        >>> img.shape, img.dtype, float(img.max())
        (torch.Size([3, 4, 5]), torch.float32, 1.0)
        >>> with open(path, "rb") as f:                                           # a binary file object
        ...     torch.equal(load_image(f), img)
        True
        >>> torch.equal(load_image(Path(path).read_bytes()), img)                # the file's bytes
        True
        >>> tmp.cleanup()
    """
    out = _decode(source, max_pixels)
    if isinstance(out, np.ndarray):
        return torch.from_numpy(out)[None].expand(3, -1, -1).contiguous()
    return pil_to_tensor(out)


def load_image_pil(source: ImageSource, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Read an image as an 8-bit RGB PIL image, from the same sources and by the same policy as :func:`load_image`.

    High-depth grayscale is rounded to 8 bits (``round(255 * x)``) after its range conversion.

    Example:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "gray.png")
        >>> Image.new("L", (5, 4), 128).save(path)
        >>> img = load_image_pil(path)
        >>> img.mode, img.size
        ('RGB', (5, 4))
        >>> tmp.cleanup()
    """
    out = _decode(source, max_pixels)
    if isinstance(out, np.ndarray):
        return Image.fromarray(np.rint(out * 255.0).astype(np.uint8)).convert("RGB")  # (H, W) uint8: mode L
    return out


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """(C, H, W) float32 tensor in [0, 1] from a PIL image: C = 3 for RGB, 1 for grayscale.

    Grayscale of any depth keeps its real range: 8-bit and 1-bit / 255, 16-bit (``I;16``) / 65535, float
    (``F``) used as is when in [0, 1]; 32-bit integers (``I``) only when the image came from a file that states
    its depth (PNG, PPM/PGM, 8/16-bit TIFF). Other modes are converted with ``image.convert("RGB")``.

    Raises:
        ImageError: a float image outside [0, 1] or non-finite, or a mode-"I" image of unknown range.

    Example:
        >>> pil_to_tensor(Image.new("L", (5, 4), 255)).shape
        torch.Size([1, 4, 5])
    """
    if image.mode in _HIGH_DEPTH_GRAY:
        bits = _integer_bits(image) if image.mode == "I" else None
        arr = _high_depth_gray(image, "PIL image", image.format, bits)
        return torch.from_numpy(np.ascontiguousarray(arr))[None]
    if image.mode in ("L", "1"):
        arr8 = np.asarray(image.convert("L"), dtype=np.uint8)[:, :, None]
    else:
        arr8 = np.asarray(image if image.mode == "RGB" else image.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(arr8.copy()).permute(2, 0, 1).float().div_(255.0)
