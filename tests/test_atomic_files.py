import errno
import os

import pytest
from PIL import Image

from engine.io import atomic_write_bytes
from engine.render import grid_image, save_png


def test_a_full_disk_leaves_the_old_file_and_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "grid.png"
    target.write_bytes(b"old export")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        save_png(Image.new("RGB", (8, 8)), target)
    assert target.read_bytes() == b"old export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.png"]  # no temp file left behind


def test_a_read_only_folder_is_an_error_and_writes_nothing(tmp_path, monkeypatch):
    # Simulated (the tests may run as root, which ignores permissions): creating any file fails.
    import tempfile

    def read_only(*a, **kw):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(OSError, match="Read-only"):
        atomic_write_bytes(tmp_path / "x.png", b"data")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_render_does_not_replace_an_existing_export(tmp_path):
    import numpy as np
    target = tmp_path / "g.png"
    save_png(grid_image(np.zeros((4, 1, 8, 8)), nrow=2), target, {"seed": "1"})
    before = target.read_bytes()
    with pytest.raises(ValueError):
        save_png(grid_image(np.zeros((4, 8, 8)), nrow=2), target)  # wrong shape: fails before writing
    assert target.read_bytes() == before and Image.open(target).text["seed"] == "1"
