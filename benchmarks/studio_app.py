"""The studio's QApplication for a benchmark (gui_overhead.py, soak.py), with its runs folder and
its settings in a fresh temporary folder: a benchmark neither reads nor changes the user's."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def studio_app(prefix: str, name: str):
    """``(app, folder)``: the application and the temporary folder (``runs/``, ``settings/``)."""
    from PySide6.QtCore import QSettings

    import studio  # noqa: F401 - applies the PySide6 6.12 / Python 3.11 work-around first
    from studio.app import make_app

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["WGAN_STUDIO_RUNS"] = str(tmp / "runs")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
    return make_app([name]), tmp
