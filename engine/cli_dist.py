"""One process of a distributed training job: the module torchrun starts.

    torchrun --nproc-per-node N -m engine.cli_dist CONFIG --out RUN [wgan-train's other options]

takes the same arguments as ``wgan-train`` (which runs this itself with ``--nproc-per-node N``).
See :mod:`engine.distributed` for what the processes share and how."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    import torch.distributed as dist

    from .cli import train_main

    try:
        return train_main(argv, distributed=True)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
