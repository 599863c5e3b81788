"""The seeded accounts a benchmark acts as: `<data-dir>/seed/<graph>.tsv` (id, handle)."""

from __future__ import annotations

from pathlib import Path


def population_path(data_dir: Path, graph: str) -> Path:
    return data_dir / "seed" / f"{graph}.tsv"


def write_population(data_dir: Path, graph: str, users: list[tuple[int, str]]) -> Path:
    path = population_path(data_dir, graph)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(f"{uid}\t{handle}\n" for uid, handle in users))
    tmp.replace(path)
    return path


def read_population(data_dir: Path, graph: str | None) -> tuple[str, list[tuple[int, str]]]:
    """The named graph's accounts, or the most recently seeded graph's."""
    folder = data_dir / "seed"
    if graph is None:
        found = sorted(folder.glob("*.tsv"), key=lambda p: p.stat().st_mtime) if folder.exists() else []
        if not found:
            raise FileNotFoundError(f"nothing seeded under {folder}: run `koo seed` first")
        path = found[-1]
    else:
        path = population_path(data_dir, graph)
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: run `koo seed --graph {graph}` first")
    users = []
    for line in path.read_text().splitlines():
        uid, _, handle = line.partition("\t")
        if uid:
            users.append((int(uid), handle))
    return path.stem, users
