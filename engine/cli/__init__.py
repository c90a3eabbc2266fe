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

COMMANDS = {"train": train_main, "sample": sample_main, "distance": distance_main, "export": export_main,
            "ctl": ctl_main, "eval": eval_main, "sweep": sweep_main, "queue": queue_main}


def engine_command_main(name: str, argv: list[str]) -> int:
    """``wgan-NAME ARGV`` inside a program that is not Python: the packaged studio's executable run
    as ``WGANStudio --engine NAME ARGS`` (engine.procs.engine_command: a queue's or a sweep's runs)."""
    import sys

    main = COMMANDS.get(name)
    if main is None:
        print(f"error: --engine {name!r}: no such command (one of: {', '.join(sorted(COMMANDS))})", file=sys.stderr)
        return 2
    sys.argv[0] = f"wgan-{name}"  # what --help and the error messages name
    return main(argv)


__all__ = ["COMMANDS", "ctl_main", "distance_main", "engine_command_main", "eval_main", "export_main", "queue_main",
           "sample_main", "sweep_main", "train_main"]
