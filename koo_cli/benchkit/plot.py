"""Latency versus throughput, one line per workload (PNG, matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_runs(runs: list[dict[str, Any]], path: Path, *, title: str) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    names = list(dict.fromkeys(r["workload"] for r in runs))
    for i, name in enumerate(names):
        points = sorted(
            (r for r in runs if r["workload"] == name and r["latency"].get("count")), key=lambda r: r["offered_rps"]
        )
        if not points:
            continue
        x = [r["achieved_rps"] for r in points]
        color = f"C{i}"
        ax.plot(x, [r["latency"]["p50_ms"] for r in points], "o-", color=color, label=f"{name} p50")
        ax.plot(x, [r["latency"]["p99_ms"] for r in points], "s--", color=color, label=f"{name} p99")
    ax.axhline(100, color="grey", linewidth=0.8, linestyle=":")
    ax.set_yscale("log")
    ax.set_xlabel("achieved throughput (req/s)")
    ax.set_ylabel("latency from scheduled arrival (ms)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
