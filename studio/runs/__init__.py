"""The model of runs (no Qt): each :class:`Run` holds everything a front end knows about one run,
and :class:`Runs` holds many of them, keyed by their folder, one current. The studio's
:class:`studio.run_model.RunModel` turns their changes into Qt signals; nothing here imports
PySide6 or pyqtgraph (an import-linter contract in pyproject.toml)."""

from .buffer import ColumnBuffer
from .run import FOLDER, KINDS, LOCAL, NEW, OPENED, PROCESS, WATCHED, Run, config_live_values, first_nonfinite
from .runs import Runs

__all__ = ["ColumnBuffer", "FOLDER", "KINDS", "LOCAL", "NEW", "OPENED", "PROCESS", "Run", "Runs", "WATCHED",
           "config_live_values", "first_nonfinite"]
