"""The development service key: processes of one `koo up` starting at once all get the
same, whole key (a gateway once read it half-written and failed to start)."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from services.kit.workload import load_service_key


def _load(data_dir: str) -> bytes:
    return load_service_key(key_file=None, data_dir=Path(data_dir), production=False)


def test_processes_racing_to_make_the_key_all_read_the_same_whole_key(tmp_path: Path) -> None:
    for attempt in range(5):
        data_dir = tmp_path / f"koo-{attempt}"
        with ProcessPoolExecutor(max_workers=8) as pool:
            keys = list(pool.map(_load, [str(data_dir)] * 32))
        assert len(set(keys)) == 1
        assert len(keys[0]) >= 32
        assert sorted(p.name for p in (data_dir / "keys").iterdir()) == ["service.key"]  # no drafts left
