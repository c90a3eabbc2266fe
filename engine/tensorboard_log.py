"""TensorBoard event files beside a run's own files (``[train] tensorboard = true``).

An observer of the trainer: every metrics column becomes a scalar (``train/`` for the
per-iteration columns, ``eval/`` for the quality measures), the sample pictures written every
``sample_every`` iterations become images, edits, pauses and the other events become text, and
the configuration is the first text. ``tensorboard --logdir RUN/tensorboard`` shows them. The
writer is PyTorch's (``torch.utils.tensorboard``), which needs the ``tensorboard`` package: an
optional dependency, ``pip install 'wgan-studio[tensorboard]'``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .config import Config, ConfigError, dumps_config
from .rundir import EVAL_COLUMNS

SUBDIR = "tensorboard"
INSTALL = "pip install 'wgan-studio[tensorboard]' (or: pip install tensorboard)"
NOT_SCALARS = ("gen_iter", "wall_time_s")  # the step, and TensorBoard records wall time itself


def require_tensorboard() -> None:
    """Raise ConfigError naming what to install when the tensorboard package is missing."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise ConfigError(f"needs the tensorboard package, which is not installed: {INSTALL}",
                          key="[train] tensorboard", value=True, allowed="false without the package") from None


class TensorBoardLog:
    """Trainer observer writing ``RUN/tensorboard/events.out.tfevents.*`` (training thread)."""

    def __init__(self, run_dir: str | Path, config: Config):
        require_tensorboard()
        from torch.utils.tensorboard import SummaryWriter

        self.path = Path(run_dir) / SUBDIR
        self.writer = SummaryWriter(log_dir=str(self.path), flush_secs=10)
        self.sample_every = config.train.sample_every
        self.total = config.train.iterations
        self._last_picture: int | None = None
        self.writer.add_text("config", "```toml\n" + dumps_config(config) + "\n```", 0)

    def on_metrics(self, cols: dict) -> None:
        steps = np.asarray(cols["gen_iter"], dtype=np.int64)
        for name, values in cols.items():
            if name in NOT_SCALARS:
                continue
            tag = f"{'eval' if name in EVAL_COLUMNS else 'train'}/{name}"
            for step, v in zip(steps.tolist(), np.asarray(values, dtype=np.float64).tolist(), strict=True):
                if math.isfinite(v):
                    self.writer.add_scalar(tag, v, step)

    def on_samples(self, payload: dict) -> None:
        it = int(payload["gen_iter"])
        # The run's own pictures (every sample_every and the last), not every live view asked for.
        due = it == self.total or (self.sample_every > 0 and it % self.sample_every == 0)
        if not due or it == self._last_picture:
            return
        from .render import payload_image
        n = len(payload["images"]) if payload["kind"] == "image" else 0
        img = payload_image(payload, nrow=payload.get("nrow", int(math.ceil(math.sqrt(n))) if n else 8))
        self.writer.add_image("samples", np.asarray(img.convert("RGB")), it, dataformats="HWC")
        self._last_picture = it

    def on_event(self, event: dict) -> None:
        kind = event.get("type", "?")
        step = int(event.get("gen_iter", 0) or 0)
        detail = ", ".join(f"{k} {v}" for k, v in event.items() if k not in ("type", "gen_iter", "time", "t"))
        self.writer.add_text(f"events/{kind}", f"iteration {step}: {kind}" + (f" ({detail})" if detail else ""), step)
        if kind in ("stop", "finish", "error", "pause", "nonfinite"):
            self.writer.flush()
        if kind in ("stop", "finish", "error"):
            self.writer.close()

    def close(self) -> None:
        self.writer.close()
