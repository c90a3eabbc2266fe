"""The metrics recorder: per-iteration statistics kept on the device and turned into whole
metrics.csv rows a batch at a time.

The training loop never waits for the device: each iteration writes its statistics into a row of
a preallocated device buffer, and :meth:`MetricsRecorder.flush` copies the buffer to the host in
one piece when reporting (about ten times a second), the run's only regular sync point."""

from __future__ import annotations

import time

import numpy as np
import torch

from .rundir import BASE_COLUMNS, RunDir

# the device buffer's columns; "nonfinite" is the policy's flag, not a metrics.csv column
STATS = ("w_estimate", "critic_loss", "generator_loss", "gradient_penalty", "clip_fraction",
         "critic_grad_norm", "gp_grad_q10", "gp_grad_q50", "gp_grad_q90", "nonfinite")
GP_QUANTILE_COLUMNS = ("gp_grad_q10", "gp_grad_q50", "gp_grad_q90")
INTEGER_COLUMNS = ("gen_iter", "n_critic", "modes_covered", "classes_hit")


class MetricsRecorder:
    def __init__(self, columns: tuple[str, ...], objective, device: torch.device, run_dir: RunDir | None,
                 capacity: int = 1024):
        self.columns = columns
        self.uses_penalty = objective.uses_penalty
        self.clips_weights = objective.clips_weights
        self.run_dir = run_dir
        self.capacity = capacity
        self._buf = torch.zeros(capacity, len(STATS), device=device)
        self._iters: list[int] = []
        self._hp: list[tuple] = []
        self._times: list[float] = []
        self.its_per_sec = 0.0
        self.last_metrics: dict[str, float] = {}
        self._last_t = time.perf_counter()
        self._last_iter = 0
        # Several processes (engine.distributed): reduce(rows) turns the rows recorded here into
        # their means over all processes, in place; every row once, at report time only.
        self.reduce = None
        self._reduced = 0

    def next_row(self) -> torch.Tensor:
        """The device row the coming iteration's :data:`STATS` go into (then call :meth:`add`)."""
        return self._buf[len(self._iters)]

    def add(self, gen_iter: int, hp: tuple, elapsed_s: float) -> None:
        """The host-side part of the row: iteration, live values ``(lr_critic, lr_generator,
        clip_value, n_critic, gp_lambda)`` and the training time."""
        self._iters.append(gen_iter)
        self._hp.append(hp)
        self._times.append(elapsed_s)

    @property
    def full(self) -> bool:
        return len(self._iters) >= self.capacity

    @property
    def due(self) -> float:
        """Seconds since the last report."""
        return time.perf_counter() - self._last_t

    def clear(self) -> None:
        """Forget the rows not reported yet (a rollback or an error)."""
        self._iters, self._hp, self._times = [], [], []
        self._reduced = 0

    def restart_clock(self, gen_iter: int | None = None) -> None:
        """Measure the iteration rate from now (after a pause, a start or a checkpoint load)."""
        self._last_t = time.perf_counter()
        if gen_iter is not None:
            self._last_iter = gen_iter

    def flush(self, evaluator, wait: bool = False) -> tuple[dict[str, np.ndarray] | None, int | None]:
        """The sync point: copy the buffered statistics to the host, append whole rows to
        metrics.csv. Returns the columns reported (None: nothing to report) and the first
        iteration whose losses were NaN or infinite (None: all finite).

        Rows from an iteration whose quality metrics are still being computed stay buffered
        until they are ready (``wait=True``: wait for them), so every row is written whole, once."""
        n = len(self._iters)
        now = time.perf_counter()
        if self.reduce is not None and n > self._reduced:  # before any row is held back: same rows everywhere
            self.reduce(self._buf[self._reduced:n])
            self._reduced = n
        if n and not wait:
            n = self._ready(evaluator, n)
        if n == 0:
            self._last_t = now
            return None, None
        total = len(self._iters)
        stats = self._buf[:n].cpu().numpy().astype(np.float64)  # the one sync per report
        iters, hps, times = self._iters[:n], self._hp[:n], self._times[:n]
        self._iters, self._hp, self._times = self._iters[n:], self._hp[n:], self._times[n:]
        if n < total:  # keep the held-back rows at the front of the device buffer
            self._buf[:total - n] = self._buf[n:total].clone()
        self._reduced = max(0, self._reduced - n)
        cols = self._columns(stats, iters, hps, times)
        for i, it in enumerate(iters):
            ev = evaluator.collect(it)
            if ev is not None:
                for name, v in ev.items():
                    cols[name][i] = v
        if self.run_dir is not None:
            self.run_dir.append_metrics(self._rows(cols, n))
        dt = now - self._last_t
        di = iters[-1] - self._last_iter
        if dt > 0 and di > 0:
            rate = di / dt
            self.its_per_sec = rate if self.its_per_sec == 0 else 0.7 * self.its_per_sec + 0.3 * rate
        self._last_t, self._last_iter = now, iters[-1]
        self.last_metrics = {k: float(v[-1]) for k, v in cols.items()}
        first_bad = iters[int(np.argmax(stats[:, -1] > 0))] if stats[:, -1].any() else None
        return cols, first_bad

    def _ready(self, evaluator, n: int) -> int:
        """How many of the ``n`` rows are ready: those before the first iteration whose quality
        metrics are still being computed."""
        first = evaluator.first_pending()
        if first is None:
            return n
        return next((i for i, it in enumerate(self._iters) if it >= first), n)

    def _columns(self, stats: np.ndarray, iters, hps, times) -> dict[str, np.ndarray]:
        n = len(iters)
        cols: dict[str, np.ndarray] = {
            "gen_iter": np.asarray(iters, dtype=np.int64),
            "wall_time_s": np.asarray(times),
        }
        for j, name in enumerate(STATS[:-1]):
            cols[name] = stats[:, j]
        if not self.uses_penalty:
            cols["gradient_penalty"] = np.full(n, np.nan)
            for name in GP_QUANTILE_COLUMNS:
                cols[name] = np.full(n, np.nan)
        if not self.clips_weights:
            cols["clip_fraction"] = np.full(n, np.nan)
        hp = np.asarray(hps, dtype=np.float64)
        cols["lr_critic"], cols["lr_generator"], cols["clip_value"] = hp[:, 0], hp[:, 1], hp[:, 2]
        cols["n_critic"] = hp[:, 3].astype(np.int64)
        cols["gp_lambda"] = hp[:, 4] if self.uses_penalty else np.full(n, np.nan)
        for name in self.columns[len(BASE_COLUMNS):]:
            cols[name] = np.full(n, np.nan)
        return cols

    def _rows(self, cols: dict[str, np.ndarray], n: int) -> list[list]:
        optional = set(self.columns[len(BASE_COLUMNS):])
        if not self.uses_penalty:
            optional.update(("gradient_penalty", "gp_lambda") + GP_QUANTILE_COLUMNS)
        if not self.clips_weights:
            optional.add("clip_fraction")
        rows = []
        for i in range(n):
            row = []
            for name in self.columns:
                v = cols[name][i]
                if name in optional and np.isnan(v):
                    row.append(None)  # not measured at this iteration / by this objective
                elif name in INTEGER_COLUMNS:
                    row.append(int(v))
                else:
                    row.append(float(v))
            rows.append(row)
        return rows
