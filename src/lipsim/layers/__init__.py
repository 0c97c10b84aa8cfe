"""1-Lipschitz building blocks (docs/layers.md has each block's Lipschitz argument)."""

from ._reparam import Reparametrized
from .activations import MaxMin, max_min
from .aol import AOLConv2d, AOLLinear
from .channels import Center, FirstK, ZeroChannelPad
from .pooling import GlobalSumPool, GridSumPool, SpaceToDepth, WindowSumPool
from .sll import SLLConv2d, SLLLinear

__all__ = [
    "AOLConv2d",
    "AOLLinear",
    "Center",
    "FirstK",
    "GlobalSumPool",
    "GridSumPool",
    "MaxMin",
    "Reparametrized",
    "SLLConv2d",
    "SLLLinear",
    "SpaceToDepth",
    "WindowSumPool",
    "ZeroChannelPad",
    "max_min",
]
