"""The LipSim metric: a 1-Lipschitz embedding, its distance and certificates."""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ._deprecated import warn_renamed
from .archs import Backbone, build_arch, get_arch_spec
from .archs.meta import build_arch_shapes
from .certificates import (
    DEFAULT_EPS,
    DistanceCertificate,
    EmbeddingBatch,
    Perturb,
    TwoAFCResult,
    certify_pair,
    certify_two_afc,
)
from .device import resolve_device
from .errors import WeightsError
from .inputs import DEFAULT_VALUE_RANGE, ImageInput, check_value_range
from .prepared import PreparedBatch, prepare_batch
from .pretrained.config_check import check_size_thresholds, check_threshold
from .pretrained.resolve import resolve_weights
from .pretrained.safetensors_io import check_state_dict
from .pretrained.sanity import check_embeddings_vary
from .pretrained.weights_format import ResolvedWeights, weights_config, write_pretrained_dir

__all__ = ["LipSim", "DEFAULT_EPS", "PreparedBatch"]


def _build_loaded(resolved: ResolvedWeights) -> Backbone:
    """The backbone of ``resolved`` holding its tensors, built without running the weight initialisation.

    The network is built on the meta device with the initialisers skipped (:func:`build_arch_shapes`), its keys
    and shapes are checked against the tensors, and the tensors are assigned, cast to the dtype the architecture
    declares. Loading is strict, so every parameter is replaced and nothing stays on the meta device.
    """
    cfg = resolved.config
    try:
        backbone = build_arch_shapes(cfg["arch"], **cfg.get("arch_config", {}))
    except (ValueError, TypeError) as e:
        raise WeightsError(f"weights {resolved.source!r}: {e}") from None
    expected = backbone.state_dict()
    check_state_dict(expected, resolved.state_dict, resolved.source, backbone.arch)
    tensors = {k: v.to(dtype=expected[k].dtype) for k, v in resolved.state_dict.items()}
    backbone.load_state_dict(tensors, strict=True, assign=True)
    left = [name for name, t in [*backbone.named_parameters(), *backbone.named_buffers()] if t.is_meta]
    if left:  # pragma: no cover - an arch with tensors outside its state dict
        raise WeightsError(f"arch {backbone.arch!r} has tensors the weights do not fill: {left[:5]}")
    backbone.invalidate_cache()
    return backbone


#: no-grad pairs of up to this many images in all share one forward pass; larger batches run side by side
_JOINT_BATCH = 16


def _check_batch_sizes(n0: int, n1: int, name0: str, name1: str, verb1: str = "has") -> int:
    """The batch size of a comparison of n0 with n1 images: equal sizes, or one image against a batch."""
    if n0 != n1 and 1 not in (n0, n1):
        raise ValueError(
            f"batch sizes differ: {name0} has {n0} images, {name1} {verb1} {n1}; expected the same number, "
            "or one image to compare with every image of the other"
        )
    return max(n0, n1)


def _expand(e: EmbeddingBatch, n: int) -> EmbeddingBatch:
    """``e`` (a batch of n or of one image) as a batch of n: one image is repeated (a view, gradients add up)."""
    if e.phi.shape[0] == n:
        return e
    return dataclasses.replace(
        e, phi=e.phi.expand(n, -1), feature_norm=e.feature_norm.expand(n), resize_norm=e.resize_norm.expand(n)
    )


class LipSim(nn.Module):
    """Perceptual distance d(x, y) = 1 - <phi(x), phi(y)> with certified robustness.

    phi(x) = g(x) / ||g(x)||, g(x) = [f(x); 1], f a 1-Lipschitz network (docs/maths.md, 'The embedding phi'). d is in
    [0, 2]; lower means more similar. Images are float tensors in [0, 1] (CHW or NCHW; [-1, 1] with
    ``value_range=(-1, 1)``), uint8 tensors, PIL images or paths. By default every image is resized (bilinear,
    antialiased) to the model resolution; all radii and budgets are in the caller's pixel space (l2 over pixels in
    ``value_range``, [0, 1] by default): a radius measured on the network input is divided by the resize operator
    norm (docs/certificates.md, 'Resizing and the size-normalised pool') and multiplied by the width of the range.
    Two batches of the same size are compared pair by pair; one image against a batch of N gives N distances.

    Args:
        pretrained: load weights (``weights`` or the registered default of ``arch``); False builds a freshly
            initialised model of ``arch`` for training.
        arch: architecture name (:func:`lipsim.list_archs`); default "efficient".
        weights: a safetensors file, a :meth:`save_pretrained` directory, a registered name
            (:func:`lipsim.list_weights`) or a Hub reference ``"hf-hub:org/name[@revision]"``. A string that looks
            like a path (a separator, a leading ``.`` or ``~``) and does not exist is a "no such file" error. The
            file must match a sha256 pinned by the registry, the save_pretrained config or ``expected_sha256``;
            weights that embed every image alike (e.g. all zeros) are refused (docs/weights-format.md).
        device: device to move the model to (validated: ``meta`` and devices this machine lacks are refused).
        constant_coordinate: "append" (phi = [f; 1] / norm, 1-Lipschitz) or "none" (phi = f / ||f||, used by
            some paper checkpoints; certificates then use a lower bound on ||f|| over the ball). Default: what
            the weights' config says, else "append".
        resize: resize inputs to the model resolution (required by fixed-size archs such as paper-small).
        expand_gray: accept one-channel images and replicate them to RGB.
        value_range: (low, high) of float image tensors: (0, 1) by default; (-1, 1) takes images as LPIPS does
            (like ``lpips.LPIPS()`` without ``normalize=True``). They are mapped linearly onto [0, 1], and every
            budget ``eps`` and radius is in the caller's units: with (-1, 1) a radius is twice the one of the same
            images in [0, 1]. uint8 tensors, PIL images and files are read as usual (their own range), with
            budgets and radii in ``value_range`` units too.
        expected_sha256: the sha256 the weights file must have (64 hex digits); a file nothing else pins (a file
            of your own, a directory without ``weights_sha256``) loads when it matches.
        trust_unverified: load a file no sha256 is pinned for, with a warning giving its digest, instead of
            refusing it.
        **arch_config: architecture options for ``pretrained=False`` (e.g. ``embed_dim=768``), or with ``arch``
            the network of a safetensors file that carries no lipsim config (nothing else is guessed).

    Example:
        >>> model = LipSim(pretrained=False).eval()
        >>> x = torch.rand(2, 3, 64, 64)
        >>> model(x, x).abs().max() < 1e-6
        tensor(True)
        >>> model(x[:1], x).shape                      # one image against a batch of two: two distances
        torch.Size([2])
        >>> lpips_style = LipSim(pretrained=False, value_range=(-1, 1)).eval()
        >>> lpips_style.load_state_dict(model.state_dict())
        <All keys matched successfully>
        >>> torch.allclose(lpips_style(x * 2 - 1, x.flip(-1) * 2 - 1), model(x, x.flip(-1)))
        True
    """

    def __init__(
        self,
        pretrained: bool = True,
        arch: str | None = None,
        weights: Any = None,
        device: str | torch.device | None = None,
        *,
        constant_coordinate: str | None = None,
        resize: bool = True,
        expand_gray: bool = False,
        value_range: tuple[float, float] = DEFAULT_VALUE_RANGE,
        expected_sha256: str | None = None,
        trust_unverified: bool = False,
        **arch_config: Any,
    ) -> None:
        super().__init__()
        if constant_coordinate not in (None, "append", "none"):
            raise ValueError(f"constant_coordinate must be 'append' or 'none', got {constant_coordinate!r}")
        self.value_range: tuple[float, float] = check_value_range(value_range)
        if arch is not None:
            get_arch_spec(arch)  # an unknown name fails here, naming the known ones
        target = resolve_device(device) if device is not None else None
        self.source: str | None = None
        if pretrained:
            resolved = resolve_weights(
                weights,
                arch,
                expected_sha256=expected_sha256,
                trust_unverified=trust_unverified,
                arch_config=arch_config,
            )
            if arch is not None and resolved.config["arch"] != arch:
                raise WeightsError(
                    f"weights {resolved.source!r} are for arch {resolved.config['arch']!r}, not {arch!r}"
                )
            backbone = _build_loaded(resolved)
            cc = constant_coordinate or resolved.config.get("constant_coordinate", "append")
            self.source = resolved.source
            self.provenance = {k: v for k, v in resolved.config.items() if k not in ("arch", "arch_config")}
        else:
            if weights is not None:
                raise ValueError("weights= was given with pretrained=False; pass pretrained=True to load them")
            if expected_sha256 is not None or trust_unverified:
                raise ValueError("expected_sha256= and trust_unverified= apply to loaded weights (pretrained=True)")
            backbone = build_arch(arch, **arch_config)
            cc = constant_coordinate or "append"
            self.provenance = {}
        self.backbone: Backbone = backbone
        self.constant_coordinate = cc
        self.resize_inputs = resize
        self.expand_gray = expand_gray
        if pretrained:
            self.eval()
            self.requires_grad_(False)
            check_embeddings_vary(self)  # on the CPU, before any move: weights that embed every image alike
        if target is not None:
            self.to(target)

    # ------------------------------------------------------------------ config and persistence
    @property
    def arch(self) -> str:
        return self.backbone.arch

    @property
    def image_size(self) -> int:
        return self.backbone.image_size

    @property
    def threshold(self) -> float | None:
        """The "same image" threshold tau (d <= tau) the weights were calibrated with, or None.

        Read from the weights' config (``"threshold"``, next to ``"threshold_rates"``: the error rates measured
        at it); a value outside [0, 2] raises a WeightsError.

        Example:
            >>> LipSim(pretrained=False).threshold is None
            True
        """
        return check_threshold(self.provenance.get("threshold"), f"weights {self.source!r}")

    @property
    def size_thresholds(self) -> dict[int, float]:
        """Thresholds calibrated at fixed compare sizes (``{size: tau}``, config ``"size_thresholds"``), or {}.

        Distances shrink when images are compared smaller, so a folder compared at 32 px (``lipsim dedup --size
        32``, ``Index(size=32)``) needs its own threshold; ``lipsim-train calibrate --sizes`` writes them.
        """
        return check_size_thresholds(self.provenance.get("size_thresholds"), f"weights {self.source!r}")

    def threshold_at(self, size: int | None) -> float | None:
        """The threshold for images compared at ``size`` x ``size`` px (None: each at its own size).

        The one calibrated at ``size`` when the weights carry it, else the one calibrated at the nearest size (by
        ratio), else :attr:`threshold`. ``size=None`` gives :attr:`threshold`.

        Example:
            >>> LipSim(pretrained=False).threshold_at(32) is None
            True
        """
        table = self.size_thresholds
        if size is None or not table:
            return self.threshold
        nearest = min(table, key=lambda s: (abs(math.log(s / size)), s))
        return table[nearest]

    @property
    def config(self) -> dict[str, Any]:
        """What :meth:`save_pretrained` writes to config.json (without the file checksum)."""
        return weights_config(self.backbone.arch, self.backbone.config, self.constant_coordinate, self.provenance)

    def save_pretrained(self, directory: str | os.PathLike[str], extra_config: dict[str, Any] | None = None) -> Path:
        """Write ``config.json`` and ``model.safetensors`` (its sha256 recorded in the config).

        Both files get the permissions the process umask gives new files.

        Example:
            >>> import tempfile
            >>> tmp = tempfile.TemporaryDirectory()
            >>> model = LipSim(pretrained=False, widths=(8, 16), head_width=16, embed_dim=8)
            >>> path = model.save_pretrained(tmp.name)
            >>> sorted(p.name for p in path.iterdir())
            ['config.json', 'model.safetensors']
            >>> LipSim.from_pretrained(path).backbone.config["embed_dim"]
            8
            >>> tmp.cleanup()
        """
        config = self.config
        if extra_config:
            config.update(extra_config)
        return write_pretrained_dir(directory, self.backbone.state_dict(), config)

    @classmethod
    def from_pretrained(
        cls, path_or_repo_id: str | os.PathLike[str], device: str | torch.device | None = None, **kwargs: Any
    ) -> LipSim:
        """Load a :meth:`save_pretrained` directory or a Hub repo holding one (HF_HUB_OFFLINE respected)."""
        return cls(pretrained=True, weights=path_or_repo_id, device=device, **kwargs)

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        out = super().load_state_dict(state_dict, strict=strict, assign=assign)
        self.backbone.invalidate_cache()
        return out

    # ------------------------------------------------------------------ embeddings
    def prepare(self, image: ImageInput, name: str = "image") -> PreparedBatch:
        """Validate ``image`` and turn it into the network's input, with its resize norm.

        This is the first half of :meth:`embed_batch` (the second is :meth:`embed_prepared`): the images on the
        model's device and dtype, resized to the network size unless ``resize=False``, and the factor c by which
        a perturbation of the caller's images can move the network output (radii in caller pixels divide by it).

        Example:
            >>> model = LipSim(pretrained=False, image_size=64).eval()
            >>> x = torch.rand(2, 3, 128, 128)
            >>> p = model.prepare(x)
            >>> tuple(p.pixels.shape), round(p.resize_norm, 3)
            ((2, 3, 64, 64), 0.501)
            >>> torch.equal(model.embed_prepared(p).phi, model.embed(x))
            True
        """
        return prepare_batch(
            image,
            self.backbone,
            name,
            resize_inputs=self.resize_inputs,
            expand_gray=self.expand_gray,
            value_range=self.value_range,
        )

    def embed_prepared(
        self, x: PreparedBatch | torch.Tensor, resize_norm: float | torch.Tensor = 1.0
    ) -> EmbeddingBatch:
        """Embeddings of a batch from :meth:`prepare` (or of network-ready pixels and their resize norm)."""
        pixels = x.pixels if isinstance(x, PreparedBatch) else x
        if isinstance(x, PreparedBatch):
            resize_norm = x.resize_norm
        f = self.backbone(pixels)
        phi = self.unit_embedding(f)
        c = torch.as_tensor(resize_norm, dtype=phi.dtype, device=phi.device).expand(phi.shape[0])
        return EmbeddingBatch(phi, f.norm(dim=1), c, self.constant_coordinate == "append")

    def unit_embedding(self, f: torch.Tensor) -> torch.Tensor:
        """phi from the backbone's output f: f / ||f||, or [f; 1] / ||[f; 1]|| with the constant coordinate."""
        if self.constant_coordinate == "append":
            g = torch.cat([f, torch.ones_like(f[:, :1])], dim=1)
            return g / g.norm(dim=1, keepdim=True)  # ||g|| >= 1: never divides by ~0
        return F.normalize(f, dim=1)

    def embed_batch(self, image: ImageInput, name: str = "image") -> EmbeddingBatch:
        """Validate, resize and embed ``image``; returns phi with what certificates need.

        Raises:
            WeightsError: the network produced NaN or infinite values (it never answers with NaN).
        """
        e = self.embed_prepared(self.prepare(image, name))
        self._require_finite(e, name)
        return e

    def embeddings(self, image: ImageInput, name: str = "image") -> EmbeddingBatch:
        """Deprecated name of :meth:`embed_batch`."""
        warn_renamed("LipSim.embeddings", "LipSim.embed_batch")
        return self.embed_batch(image, name)

    def _require_finite(self, e: EmbeddingBatch, name: str) -> None:
        """Refuse embeddings with NaN/inf, or (constant coordinate appended) not of unit norm.

        Finite weights can still overflow (e.g. in float16, or huge biases): ||[f; 1]|| then becomes inf and
        phi NaN or 0. With the constant coordinate, ||[f; 1]|| >= 1, so phi has unit norm unless it overflowed.
        """
        bad = ~torch.isfinite(e.phi).all(dim=1)
        if e.constant_appended:
            bad |= (e.phi.norm(dim=1) - 1).abs() > 1e-2
        if bool(bad.any()):
            idx = bad.nonzero().flatten().tolist()
            p = next(self.parameters())
            raise WeightsError(
                f"{name}: the network produced NaN, infinite or overflowed embeddings for image(s) {idx[:8]}"
                f"{' ...' if len(idx) > 8 else ''} (weights {self.source!r}, dtype {p.dtype}): they overflow on "
                "these inputs; lipsim refuses to answer with NaN"
            )

    def embed(self, x: ImageInput) -> torch.Tensor:
        """(N, k+1) unit-norm embeddings phi(x) ((N, k) with ``constant_coordinate="none"``)."""
        return self.embed_batch(x, "x").phi

    def _pair(self, a: ImageInput, b: ImageInput, na: str, nb: str) -> tuple[EmbeddingBatch, EmbeddingBatch]:
        """Embeddings of both sides, checked finite, as two batches of one size (one image is repeated)."""
        pa, pb = self.prepare(a, na), self.prepare(b, nb)
        e0, e1 = self._embed_pair(pa, pb, na, nb)
        with torch.no_grad():  # a distance is never computed from overflowed embeddings
            self._require_finite(e0, na)
            self._require_finite(e1, nb)
        n = max(e0.phi.shape[0], e1.phi.shape[0])
        return _expand(e0, n), _expand(e1, n)

    def _embed_pair(
        self, pa: PreparedBatch, pb: PreparedBatch, na: str, nb: str
    ) -> tuple[EmbeddingBatch, EmbeddingBatch]:
        xa, xb = pa.pixels, pb.pixels
        n0 = xa.shape[0]
        _check_batch_sizes(n0, xb.shape[0], na, nb)
        if xa.requires_grad != xb.requires_grad:  # a loss against a fixed side: no backward through that side
            return self.embed_prepared(pa), self.embed_prepared(pb)
        joint = xa.requires_grad or n0 + xb.shape[0] <= _JOINT_BATCH  # larger: concatenating costs more
        if joint and pa.resize_norm == pb.resize_norm and xa.shape[-2:] == xb.shape[-2:]:  # one pass for both
            e = self.embed_prepared(torch.cat([xa, xb]), pa.resize_norm)
            split = lambda t: (t[:n0], t[n0:])  # noqa: E731
            (p0, p1), (f0, f1), (q0, q1) = split(e.phi), split(e.feature_norm), split(e.resize_norm)
            cc = e.constant_appended
            return EmbeddingBatch(p0, f0, q0, cc), EmbeddingBatch(p1, f1, q1, cc)
        return self.embed_prepared(pa), self.embed_prepared(pb)

    # ------------------------------------------------------------------ the metric
    def forward(self, img0: ImageInput, img1: ImageInput, spatial: bool = False) -> torch.Tensor:
        """(N,) distances d = 1 - <phi0, phi1> = ||phi0 - phi1||^2 / 2, differentiable (finite at img0 == img1).

        One image against a batch of N gives N distances. ``spatial=True`` returns :meth:`difference_map`
        instead: (N, 1, H, W), where the two images differ (a visual aid, with no certificate).
        """
        if spatial:
            return self.difference_map(img0, img1)
        e0, e1 = self._pair(img0, img1, "img0", "img1")
        return 0.5 * (e0.phi - e1.phi).pow(2).sum(dim=1)

    def difference_map(self, img0: ImageInput, img1: ImageInput) -> torch.Tensor:
        """(N, 1, H, W) map of where ``img0`` and ``img1`` differ, at the images' size; **no certificate**.

        Per position of each convolutional stage, the squared distance of the two images' channel-normalised
        feature vectors (in [0, 4]), upsampled (bilinear) and averaged over stages (:mod:`lipsim.spatial`). It
        shows where the network sees the images differ, for people to look at; only the distance and its radii
        are certified (an attack can move the map without moving them). Needs a backbone with a ``features``
        stage (arch "efficient") and two images of one size (or one image against a batch). Differentiable.

        Example:
            >>> model = LipSim(pretrained=False).eval()
            >>> x = torch.rand(1, 3, 64, 96)
            >>> y = x.clone()
            >>> y[..., :16, :16] = 1.0                    # a white square in the top-left corner
            >>> m = model.difference_map(x, y)            # or model(x, y, spatial=True)
            >>> m.shape, bool(m[..., :16, :16].mean() > m[..., 32:, 48:].mean())
            (torch.Size([1, 1, 64, 96]), True)
        """
        from .spatial import difference_map

        features = getattr(self.backbone, "features", None)
        if not isinstance(features, nn.Module):
            raise ValueError(
                f"a difference map needs a backbone with convolutional feature maps (backbone.features, as in arch "
                f"'efficient'); arch {self.arch!r} has none"
            )
        pa, pb = self.prepare(img0, "img0"), self.prepare(img1, "img1")
        _check_batch_sizes(pa.pixels.shape[0], pb.pixels.shape[0], "img0", "img1")
        (h0, w0), (h1, w1) = pa.input_size, pb.input_size
        if (h0, w0) != (h1, w1):
            raise ValueError(
                f"a difference map needs two images of one size, got img0 {h0}x{w0} and img1 {h1}x{w1} (height x "
                "width); resize one of them first"
            )
        return difference_map(features, pa.pixels, pb.pixels, (h0, w0))

    @torch.no_grad()
    def certify(
        self,
        img0: ImageInput,
        img1: ImageInput,
        eps: float = DEFAULT_EPS,
        threshold: float | None = None,
        perturb: Perturb = "either",
    ) -> DistanceCertificate:
        """Distance with its certified interval and, given ``threshold``, the radius of ``d <= threshold``.

        Args:
            img0: first images.
            img1: second images.
            eps: l2 budget in the caller's pixel space (pixels in [0, 1]); default 36/255.
            threshold: tau of the "same image" decision d <= tau.
            perturb: "either" (one of the two images moves by <= eps) or "both" (each does).

        Example:
            >>> model = LipSim(pretrained=False).eval()
            >>> cert = model.certify(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64), threshold=0.1)
            >>> bool(cert.lower <= cert.distance) and bool(cert.distance <= cert.upper)
            True
        """
        e0, e1 = self._pair(img0, img1, "img0", "img1")
        return certify_pair(e0, e1, eps, threshold, perturb)

    @torch.no_grad()
    def two_afc(self, ref: ImageInput, x0: ImageInput, x1: ImageInput) -> TwoAFCResult:
        """Which of ``x0``, ``x1`` is closer to ``ref``, with the certified radius for perturbations of ``ref``.

        Example:
            >>> model = LipSim(pretrained=False).eval()
            >>> r = model.two_afc(torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32))
            >>> r.choice.shape, bool((r.radius >= 0).all())
            (torch.Size([2]), True)
        """
        er = self.embed_batch(ref, "ref")
        e0, e1 = self._pair(x0, x1, "x0", "x1")
        n = _check_batch_sizes(er.phi.shape[0], e0.phi.shape[0], "ref", "x0/x1", "have")
        return certify_two_afc(_expand(er, n), _expand(e0, n), _expand(e1, n))

    def extra_repr(self) -> str:
        text = f"arch={self.arch!r}, image_size={self.image_size}, constant_coordinate={self.constant_coordinate!r}"
        return text if self.value_range == DEFAULT_VALUE_RANGE else f"{text}, value_range={self.value_range}"
