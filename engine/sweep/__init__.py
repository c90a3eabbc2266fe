"""Sweeps: many runs of one configuration with some settings searched, on Optuna
(docs/guide/sweeps.md).

- :mod:`.spec`: the sweep file, checked before anything trains (:func:`load_sweep`);
- :mod:`.folder`: a sweep folder's files (``trials.csv``, claims, names; :func:`read_trials`);
- :mod:`.runner`: the workers that train the trials as ``wgan-train`` processes (needs Optuna:
  ``pip install 'wgan-studio[sweep]'``; imported only to run a sweep).
"""

from .folder import SweepTrials, TrialRow, is_sweep_folder, read_trials, sweep_command
from .spec import (
    DIRECTIONS,
    PRUNERS,
    SAMPLERS,
    SWEEP_KEYS,
    Choice,
    Range,
    SweepError,
    SweepSpec,
    dumps_sweep,
    load_sweep,
    loads_sweep,
    metric_choices,
)

__all__ = ["DIRECTIONS", "PRUNERS", "SAMPLERS", "SWEEP_KEYS", "Choice", "Range", "SweepError", "SweepSpec",
           "SweepTrials", "TrialRow", "dumps_sweep", "is_sweep_folder", "load_sweep", "loads_sweep",
           "metric_choices", "read_trials", "sweep_command"]
