"""Random multi-scale square crops from a folder of photos, and the two LipSim training views.

Every random choice is drawn from a ``torch.Generator`` seeded from the item's coordinates
(``seed``, ``epoch``, ``index``), so an item is a pure function of them: training resumed at any
step reproduces the same batches bit for bit, whatever the number of DataLoader workers.

Unreadable files: at construction every candidate file's header is read (and, with ``verify=True``,
the whole image decoded). With ``on_error="raise"`` (default) the first unreadable file raises a
``ValueError`` naming it; with ``on_error="skip"`` it is dropped with a ``UserWarning`` naming it.
A file that breaks later, while an item is decoded, always raises a ``ValueError`` naming the file.

Example:
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> for i, colour in enumerate(["red", "navy"]):
    ...     Image.new("RGB", (40, 30), colour).save(os.path.join(tmp.name, f"photo{i}.png"))
    >>> ds = ImageFolderCrops(tmp.name, size=16, seed=0, two_views=True)
    >>> ds.set_epoch(3)
    >>> view_a, view_b = ds[1]
    >>> view_a.shape, view_b.shape
    (torch.Size([3, 16, 16]), torch.Size([3, 16, 16]))
    >>> tmp.cleanup()

Each view is a float tensor (3, 16, 16) in [0, 1], a pure function of (index 1, seed 0, epoch 3).
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor
from torch.utils.data import Dataset
from torchvision.transforms.v2 import functional as TF

_ON_ERROR = ("raise", "skip")
_EXIF_ORIENTATION = 0x0112


def seeded_generator(*parts: object) -> torch.Generator:
    """Return a CPU generator seeded from a hash of ``parts`` (independent streams per tuple).

    Args:
        *parts: Values whose ``str`` identifies the stream, e.g. ``("crop", seed, epoch, index)``.

    Returns:
        A fresh ``torch.Generator`` on the CPU.

    Example:
        >>> a = torch.rand(2, generator=seeded_generator("crop", 0, 0, 7))
        >>> torch.equal(a, torch.rand(2, generator=seeded_generator("crop", 0, 0, 7)))
        True
    """
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    gen = torch.Generator()
    gen.manual_seed(int.from_bytes(digest[:8], "little") & ((1 << 63) - 1))
    return gen


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


def pixels_fingerprint(images: Tensor) -> str:
    """SHA-256 hex digest of a uint8 image tensor's shape and pixels (a cache key for teacher embeddings)."""
    h = hashlib.sha256(str(tuple(images.shape)).encode())
    h.update(images.numpy().tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class CropBox:
    """Where a square crop comes from: pixel box ``(left, top, side)`` and whether it was mirrored."""

    left: int
    top: int
    side: int
    flipped: bool


def sample_crop_box(
    width: int,
    height: int,
    scale: tuple[float, float],
    generator: torch.Generator,
    flip: bool = True,
    side_px: tuple[int, int] | None = None,
) -> CropBox:
    """Draw a square crop: area a share in ``scale`` of the largest square, uniform position.

    With ``side_px = (lo, hi)`` the side is instead uniform in ``[lo, hi]`` pixels (clipped to the
    image), so crops keep the photo's own pixel scale (used to train at the caller's resolution).

    Always draws exactly four numbers from ``generator`` so later draws do not depend on the image.

    Args:
        width: Image width in pixels.
        height: Image height in pixels.
        scale: (low, high) share of ``min(width, height) ** 2`` covered by the crop, in (0, 1].
        generator: Source of randomness.
        flip: Whether a horizontal flip may be drawn (probability 0.5).

    Returns:
        The crop box.

    Example:
        >>> sample_crop_box(640, 480, (0.25, 1.0), seeded_generator(0)).side <= 480
        True
    """
    u = torch.rand(4, generator=generator, dtype=torch.float64).tolist()
    short = min(width, height)
    if side_px is not None:
        side = min(short, max(1, round(side_px[0] + (side_px[1] - side_px[0]) * u[0])))
    else:
        lo, hi = scale
        side = min(short, max(1, round(short * math.sqrt(lo + (hi - lo) * u[0]))))
    left = min(width - side, int(u[1] * (width - side + 1)))
    top = min(height - side, int(u[2] * (height - side + 1)))
    return CropBox(left, top, side, flip and u[3] < 0.5)


def crop_resize(img: Image.Image, box: CropBox, size: int) -> Tensor:
    """Cut ``box`` out of ``img``, resize it to ``size`` (bicubic, antialiased) and apply the flip.

    Returns:
        uint8 tensor (3, size, size).
    """
    region = (box.left, box.top, box.left + box.side, box.top + box.side)
    out = img.resize((size, size), Image.Resampling.BICUBIC, box=region)
    if box.flipped:
        out = ImageOps.mirror(out)
    return pil_to_uint8(out)


def _validate_scale(scale: tuple[float, float]) -> tuple[float, float]:
    lo, hi = (float(v) for v in scale)
    if not 0.0 < lo <= hi <= 1.0:
        raise ValueError(f"scale must be (low, high) with 0 < low <= high <= 1, got {scale!r}")
    return lo, hi


def jitter_view(
    view_a: Tensor,
    generator: torch.Generator,
    brightness: float = 0.4,
    contrast: float = 0.4,
    saturation: float = 0.2,
    hue: float = 0.1,
    p_jitter: float = 0.8,
    p_gray: float = 0.2,
) -> Tensor:
    """LipSim view B from view A: ColorJitter (applied with ``p_jitter``) then RandomGrayscale.

    Mirrors torchvision's ``ColorJitter`` (factors uniform in ``[1-b, 1+b]``, hue in ``[-h, h]``,
    the four adjustments in a random order) but draws from ``generator``, always the same count
    of numbers.

    Args:
        view_a: Float tensor (3, H, W) in [0, 1].
        generator: Source of randomness.
        brightness: Brightness jitter amount.
        contrast: Contrast jitter amount.
        saturation: Saturation jitter amount.
        hue: Hue jitter amount (at most 0.5).
        p_jitter: Probability of applying the colour jitter.
        p_gray: Probability of converting to (3-channel) grayscale.

    Returns:
        Float tensor (3, H, W) in [0, 1].

    Example:
        >>> b = jitter_view(torch.rand(3, 8, 8), seeded_generator(1))
        >>> b.shape
        torch.Size([3, 8, 8])
    """
    u = torch.rand(6, generator=generator, dtype=torch.float64).tolist()
    order = torch.randperm(4, generator=generator).tolist()
    out = view_a
    if u[0] < p_jitter:
        factors = (
            1.0 + brightness * (2.0 * u[1] - 1.0),
            1.0 + contrast * (2.0 * u[2] - 1.0),
            1.0 + saturation * (2.0 * u[3] - 1.0),
            hue * (2.0 * u[4] - 1.0),
        )
        ops = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)
        for k in order:
            out = ops[k](out, factors[k])
    if u[5] < p_gray:
        out = TF.rgb_to_grayscale(out, num_output_channels=3)
    return out.clamp(0.0, 1.0)


def _gray(x: Tensor) -> Tensor:
    return (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])


# RGB <-> YIQ: hue is the angle of the (I, Q) chroma vector, so a hue shift is a rotation about the grey axis
_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_RGB = torch.linalg.inv(_YIQ)


def jitter_views(
    views_a: Tensor,
    generators: list[torch.Generator],
    brightness: float = 0.4,
    contrast: float = 0.4,
    saturation: float = 0.2,
    hue: float = 0.1,
    p_jitter: float = 0.8,
    p_gray: float = 0.2,
) -> Tensor:
    """Batched view B: :func:`jitter_view`'s random draws per image, applied to the whole batch at once.

    Brightness, contrast and saturation are torchvision's formulas; the hue shift is a rotation of the
    YIQ chroma plane by ``2 pi h`` (a fast linear stand-in for the HSV round trip, exact on the grey axis).
    Each image still gets its own factors and its own order of the four adjustments.

    Args:
        views_a: float (N, 3, H, W) in [0, 1].
        generators: one generator per image.

    Example:
        >>> b = jitter_views(torch.rand(2, 3, 8, 8), [seeded_generator(1), seeded_generator(2)])
        >>> b.shape, bool(b.min() >= 0) and bool(b.max() <= 1)
        (torch.Size([2, 3, 8, 8]), True)
    """
    n = views_a.shape[0]
    if len(generators) != n:
        raise ValueError(f"need one generator per image: {n} images, {len(generators)} generators")
    draws = [torch.rand(6, generator=g, dtype=torch.float64).tolist() for g in generators]
    orders = torch.tensor([torch.randperm(4, generator=g).tolist() for g in generators])
    u = torch.tensor(draws, dtype=views_a.dtype)
    on = (u[:, 0] < p_jitter).view(n, 1, 1, 1)
    fac = torch.stack([1 + brightness * (2 * u[:, 1] - 1), 1 + contrast * (2 * u[:, 2] - 1),
                       1 + saturation * (2 * u[:, 3] - 1), hue * (2 * u[:, 4] - 1)], dim=1)
    out = views_a
    yiq, rgb = _YIQ.to(out), _RGB.to(out)
    for slot in range(4):
        k = orders[:, slot]
        f = fac[torch.arange(n), k].view(n, 1, 1, 1)
        bright = (out * f).clamp(0, 1)
        gray_now = _gray(out)
        mean_gray = gray_now.mean(dim=(1, 2, 3), keepdim=True)
        contr = ((out - mean_gray) * f + mean_gray).clamp(0, 1)
        satur = ((out - gray_now) * f + gray_now).clamp(0, 1)
        c, s = torch.cos(2 * torch.pi * f), torch.sin(2 * torch.pi * f)
        q = torch.einsum("ij,njhw->nihw", yiq, out)
        i2, q2 = c[:, :, :, :] * q[:, 1:2] - s * q[:, 2:3], s * q[:, 1:2] + c * q[:, 2:3]
        hued = torch.einsum("ij,njhw->nihw", rgb, torch.cat([q[:, 0:1], i2, q2], dim=1)).clamp(0, 1)
        kk = k.view(n, 1, 1, 1)
        step = torch.where(kk == 0, bright, torch.where(kk == 1, contr, torch.where(kk == 2, satur, hued)))
        out = torch.where(on, step, out)
    gray = (u[:, 5] < p_gray).view(n, 1, 1, 1)
    return torch.where(gray, _gray(out).expand_as(out), out).clamp(0.0, 1.0)


def lipsim_views(crop: Tensor, generator: torch.Generator, flip: bool = True) -> tuple[Tensor, Tensor]:
    """The two LipSim distillation views (docs/training.md, 'Two views') of one crop.

    A = crop, mirrored with probability 0.5 (if ``flip``); B = A + ColorJitter(0.4, 0.4, 0.2, 0.1)
    with p=0.8 + RandomGrayscale(p=0.2).

    Args:
        crop: uint8 tensor (3, H, W) or float tensor in [0, 1].
        generator: Source of randomness (one flip draw, then :func:`jitter_view`'s draws).
        flip: Whether to draw the horizontal flip here (pass ``False`` if the crop is already flipped).

    Returns:
        ``(A, B)``, float tensors (3, H, W) in [0, 1].

    Example:
        >>> a, b = lipsim_views(torch.rand(3, 16, 16), seeded_generator("views", 0))
        >>> a.shape == b.shape
        True
    """
    if crop.ndim != 3 or crop.shape[0] != 3:
        raise ValueError(f"crop must have shape (3, H, W), got {tuple(crop.shape)}")
    a = crop.float().div(255.0) if crop.dtype == torch.uint8 else crop.float()
    do_flip = torch.rand(1, generator=generator).item() < 0.5
    if flip and do_flip:
        a = a.flip(-1)
    return a, jitter_view(a, generator)


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


class ImageFolderCrops(Dataset):
    """Random multi-scale square crops of the photos under a folder (LipSim view A, optionally B).

    Item ``index`` of epoch ``e`` comes from file ``index % len(files)``; its crop box, flip and
    colour jitter are drawn from ``seeded_generator("crop", seed, e, index)``.

    Args:
        root: Folder searched recursively for images (any format Pillow opens).
        size: Output side in pixels.
        scale: (low, high) share of the image's largest square covered by a crop.
        seed: Base seed.
        crops_per_image: Items per file per epoch (``len = files * crops_per_image``).
        two_views: Return ``(A, B)`` (see :func:`lipsim_views`) instead of A alone.
        flip: Mirror crops with probability 0.5.
        on_error: ``"raise"`` or ``"skip"`` for files Pillow cannot read (see module docstring).
        verify: Fully decode every file at construction (slower; catches truncated files).
        cache: Keep decoded images in memory (per process / DataLoader worker).

    Example:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> Image.new("RGB", (40, 30)).save(os.path.join(tmp.name, "photo.png"))
        >>> ds = ImageFolderCrops(tmp.name, size=16, seed=0, crops_per_image=3)
        >>> len(ds), ds[0].shape
        (3, torch.Size([3, 16, 16]))
        >>> tmp.cleanup()
    """

    def __init__(
        self,
        root: str | os.PathLike,
        size: int = 224,
        scale: tuple[float, float] = (0.08, 1.0),
        seed: int = 0,
        crops_per_image: int = 1,
        two_views: bool = False,
        flip: bool = True,
        on_error: str = "raise",
        verify: bool = False,
        cache: bool = False,
    ) -> None:
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive int, got {size!r}")
        if not isinstance(crops_per_image, int) or crops_per_image < 1:
            raise ValueError(f"crops_per_image must be a positive int, got {crops_per_image!r}")
        self._folder = ImageFiles(root, on_error, verify, cache)
        self.root = self._folder.root
        self.size = size
        self.scale = _validate_scale(scale)
        self.seed = int(seed)
        self.crops_per_image = crops_per_image
        self.two_views = two_views
        self.flip = flip
        self.epoch = 0

    @property
    def files(self) -> list[Path]:
        """The image files used, sorted by relative path."""
        return list(self._folder.files)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose crops ``__getitem__`` returns."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self._folder.files) * self.crops_per_image

    def _check_index(self, index: int) -> int:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for a dataset of {n} crops")
        return index % n

    def crop_box(self, index: int, epoch: int | None = None) -> tuple[Path, CropBox]:
        """The file and crop box of item ``index`` (of ``epoch``, default the current one)."""
        index = self._check_index(index)
        epoch = self.epoch if epoch is None else int(epoch)
        file_idx = index % len(self._folder.files)
        width, height = self._folder.sizes[file_idx]
        gen = seeded_generator("crop", self.seed, epoch, index)
        return self._folder.files[file_idx], sample_crop_box(width, height, self.scale, gen, self.flip)

    def _item(self, index: int, epoch: int) -> tuple[Tensor, torch.Generator]:
        file_idx = index % len(self._folder.files)
        width, height = self._folder.sizes[file_idx]
        gen = seeded_generator("crop", self.seed, epoch, index)
        box = sample_crop_box(width, height, self.scale, gen, self.flip)
        img = self._folder.image(file_idx)
        if img.size != (width, height):
            raise ValueError(
                f"image file {str(self._folder.files[file_idx])!r} changed size since the dataset was built "
                f"(was {width}x{height}, now {img.size[0]}x{img.size[1]})"
            )
        return crop_resize(img, box, self.size), gen

    def crop(self, index: int, epoch: int | None = None) -> Tensor:
        """View A of item ``index`` as a uint8 tensor (3, size, size)."""
        index = self._check_index(index)
        return self._item(index, self.epoch if epoch is None else int(epoch))[0]

    def __getitem__(self, index: int) -> Tensor | tuple[Tensor, Tensor]:
        index = self._check_index(index)
        crop, gen = self._item(index, self.epoch)
        view_a = crop.float().div_(255.0)
        if not self.two_views:
            return view_a
        return view_a, jitter_view(view_a, gen)


class FixedCropPool:
    """A fixed, seeded list of ``n`` crops from a folder, held as one uint8 tensor (N, 3, S, S).

    Crop ``i`` comes from file ``i % len(files)`` with box and flip drawn from
    ``seeded_generator("pool", seed, i)``, so a pool of ``n`` crops is the prefix of a larger one.
    Meant for caching teacher embeddings of view A.

    Args:
        root: Folder searched recursively for images.
        n: Number of crops.
        size: Crop side in pixels.
        seed: Seed of the pool.
        scale: (low, high) share of the image's largest square covered by a crop.
        flip: Mirror crops with probability 0.5.
        on_error: ``"raise"`` or ``"skip"`` for unreadable files.
        side_px: (low, high) crop side in pixels instead of ``scale`` (see :func:`sample_crop_box`).

    Attributes:
        images: uint8 tensor (N, 3, size, size).
        records: One ``(path, CropBox)`` per crop.

    Example:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> for i, colour in enumerate(["red", "navy"]):
        ...     Image.new("RGB", (40, 30), colour).save(os.path.join(tmp.name, f"photo{i}.png"))
        >>> pool = FixedCropPool(tmp.name, n=5, size=16, seed=0)
        >>> pool.images.shape, pool.images.dtype, len(pool.fingerprint())
        (torch.Size([5, 3, 16, 16]), torch.uint8, 64)
        >>> tmp.cleanup()
    """

    def __init__(
        self,
        root: str | os.PathLike,
        n: int,
        size: int = 224,
        seed: int = 0,
        scale: tuple[float, float] = (0.08, 1.0),
        flip: bool = True,
        on_error: str = "raise",
        side_px: tuple[int, int] | None = None,
    ) -> None:
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive int, got {size!r}")
        folder = ImageFiles(root, on_error, verify=False, cache=False)
        self.size = size
        self.seed = int(seed)
        scale = _validate_scale(scale)
        if side_px is not None and not 1 <= int(side_px[0]) <= int(side_px[1]):
            raise ValueError(f"side_px must be (low, high) with 1 <= low <= high, got {side_px!r}")
        n_files = len(folder.files)
        self.records: list[tuple[Path, CropBox]] = []
        for i in range(n):
            width, height = folder.sizes[i % n_files]
            box = sample_crop_box(width, height, scale, seeded_generator("pool", self.seed, i), flip, side_px)
            self.records.append((folder.files[i % n_files], box))
        self.images = torch.empty((n, 3, size, size), dtype=torch.uint8)
        for file_idx in range(min(n, n_files)):  # decode each file once
            img = folder.image(file_idx)
            for i in range(file_idx, n, n_files):
                self.images[i] = crop_resize(img, self.records[i][1], size)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> Tensor:
        return self.images[index]

    def fingerprint(self) -> str:
        """SHA-256 hex digest of the pool's shape and pixels (a cache key for teacher embeddings)."""
        return pixels_fingerprint(self.images)
