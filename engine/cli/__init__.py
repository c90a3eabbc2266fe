"""The command line, one module per command (each thin over the engine's API):

- ``wgan-train`` (:mod:`.wgan_train`; with ``--nproc-per-node`` it starts torchrun,
  :mod:`.torchrun_launch`; its progress printer is :mod:`.terminal_progress`),
- ``wgan-sweep`` (:mod:`.wgan_sweep`) and ``wgan-queue`` (:mod:`.wgan_queue`): many runs;
- ``wgan-sample`` (:mod:`.wgan_sample`), ``wgan-distance`` (:mod:`.wgan_distance`),
  ``wgan-export`` (:mod:`.wgan_export`), ``wgan-ctl`` (:mod:`.wgan_ctl`) and ``wgan-eval``
  (:mod:`.wgan_eval`).

Bad input (config, data, checkpoint) prints one clear message and exits with status 2, never
a traceback (:mod:`.common`).
"""

from .wgan_ctl import ctl_main
from .wgan_distance import distance_main
from .wgan_eval import eval_main
from .wgan_export import export_main
from .wgan_queue import queue_main
from .wgan_sample import sample_main
from .wgan_sweep import sweep_main
from .wgan_train import train_main

__all__ = ["ctl_main", "distance_main", "eval_main", "export_main", "queue_main", "sample_main", "sweep_main",
           "train_main"]
