"""WGAN Studio's engine: pure PyTorch + NumPy, no Qt.

Public API (the studio and the command line use only this):
``Config``, ``ConfigError``, ``load_config``, ``load_preset``, ``list_presets``, ``Trainer``,
``RunDir``, ``load_checkpoint``, ``CheckpointError``, ``DataError``, ``RunState`` and ``RunStatus``
(where a run is), ``traits`` (what an objective can do); and the rules both front ends apply:
:mod:`engine.continuation` (whether and how a run continues), :mod:`engine.run_report` (what a run
folder holds, which checkpoint is the newest that loads), :mod:`engine.export` (the sample picture
of a checkpoint, CSV exports) and :mod:`engine.distance` (Example 1 and its sweep plan).
"""

from .checkpoint import CheckpointError, load_checkpoint
from .config import (
    DEFAULT_PRESET,
    LIVE_KEYS,
    SCHEMA,
    Config,
    ConfigError,
    apply_overrides,
    dumps_config,
    list_presets,
    load_config,
    load_preset,
    save_config,
)
from .data import DataError
from .inference import LoadedModel, generate, load_model
from .objective_traits import ObjectiveTraits, traits
from .rundir import RunDir, read_events, read_metrics
from .status import RunState, RunStatus
from .trainer import Trainer, TrainingError

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "Config",
    "ConfigError",
    "DEFAULT_PRESET",
    "DataError",
    "LIVE_KEYS",
    "LoadedModel",
    "ObjectiveTraits",
    "RunDir",
    "RunState",
    "RunStatus",
    "SCHEMA",
    "Trainer",
    "TrainingError",
    "__version__",
    "apply_overrides",
    "dumps_config",
    "generate",
    "list_presets",
    "load_checkpoint",
    "load_config",
    "load_model",
    "load_preset",
    "read_events",
    "read_metrics",
    "save_config",
    "traits",
]
