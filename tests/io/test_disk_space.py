"""Free-space checks before downloads: only the files still to fetch count, less their .part."""

import pytest

from deepsphere.io import disk_space
from deepsphere.io.disk_space import NotEnoughDiskSpace, ensure_download_space


def test_only_missing_bytes_are_required(tmp_path, monkeypatch):
    raw, manual = tmp_path / "raw", tmp_path / "manual"
    raw.mkdir()
    manual.mkdir()
    (raw / "a.bin").write_bytes(b"x")  # already here
    (manual / "b.bin").write_bytes(b"x")  # placed by hand
    (raw / "c.bin.part").write_bytes(b"x" * 300)  # interrupted: 300 of 1000 bytes
    sizes = {"a.bin": 10_000, "b.bin": 10_000, "c.bin": 1000, "d.bin": 500}
    monkeypatch.setattr(disk_space, "free_bytes", lambda path: 1200)
    assert ensure_download_space(raw, sizes, manual_dir=manual) == 700 + 500
    monkeypatch.setattr(disk_space, "free_bytes", lambda path: 1199)
    with pytest.raises(NotEnoughDiskSpace, match="the download needs"):
        ensure_download_space(raw, sizes, manual_dir=manual)
    # nothing left to fetch: no check at all
    monkeypatch.setattr(disk_space, "free_bytes", lambda path: 0)
    assert ensure_download_space(raw, {"a.bin": 10_000}, manual_dir=manual) == 0
