"""PNG plots of evaluation results."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..certificates import CERTIFIED_EPS

__all__ = ["plot_certified_curve"]


def plot_certified_curve(results: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Certified 2AFC score against eps (one line per subset + total), reference natural scores dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    lip = results["lipsim"]
    eps = lip["curve_eps"]
    for name, sub in lip["subsets"].items():
        ax.plot(eps, sub["certified_curve"], lw=1, alpha=0.6, label=f"LipSim {name}")
    ax.plot(eps, lip["total"]["certified_curve"], lw=2.5, color="black", label="LipSim (all)")
    for e in CERTIFIED_EPS:
        ax.axvline(e, color="grey", lw=0.5, ls=":")
    for i, (name, ref) in enumerate(results.get("references", {}).items()):
        ax.axhline(
            ref["total"]["natural"], ls="--", lw=1, color=f"C{(i + 5) % 10}", label=f"{name} natural (no certificate)"
        )
    ax.set_xlabel("l2 budget eps on the reference (pixels in [0, 1])")
    ax.set_ylabel("certified 2AFC score")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, max(eps))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(f"Certified score vs radius: {results.get('data', '')}", fontsize=9)
    fig.tight_layout()
    p = Path(path)
    fig.savefig(p)
    plt.close(fig)
    return p
