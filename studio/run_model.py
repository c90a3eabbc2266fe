"""The current run, without widgets: what every panel shows.

One :class:`RunModel` per window owns the current run: its source (:mod:`studio.sources`), state,
configuration, metrics history, samples, events (edits included) and log. Panels subscribe to
it and redraw from it: when the model turns to another run (started, opened, continued, or none
after a preset or configuration was loaded) it emits ``run_changed`` and every panel redraws from
the model alone, so nothing of an earlier run stays on screen. The model never blocks and never
computes more than bookkeeping: the run's source does the work.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from engine import LIVE_KEYS, Config
from engine.runfolder import run_kind
from studio.sources import Progress, RunSource

ACTIVE = ("starting", "running", "paused", "stopping")


def config_live_values(cfg: Config, overrides: Mapping | None = None) -> dict:
    """The live parameters a run of ``cfg`` starts with; finite ``overrides`` win (an opened run's
    last logged values)."""
    values = {key: cfg.get(f"{section}.{name}") for key, (section, name) in LIVE_KEYS.items()}
    values.update({k: v for k, v in (overrides or {}).items()
                   if k in values and isinstance(v, int | float) and math.isfinite(v)})
    return values


class ColumnBuffer:
    """Named float64 columns that grow by doubling; ``view(name)`` is the filled part.

    At most ``max_rows`` rows are kept: when an append would go past that, the older half of the
    rows is thinned out to every other row (the first row stays) until the new rows fit. Recent
    rows keep full detail, older ones get coarser step by step, and memory stays bounded however
    long the run."""

    MAX_ROWS = 2 ** 18

    def __init__(self, names, capacity: int = 4096, max_rows: int | None = None):
        self.names = tuple(names)
        self.max_rows = int(max_rows if max_rows is not None else self.MAX_ROWS)
        if self.max_rows < 4:
            raise ValueError("max_rows must be at least 4")
        self.n = 0
        self._cap = max(1, min(capacity, self.max_rows))
        self._data = {k: np.full(self._cap, np.nan) for k in self.names}
        self.decimations = 0  # how many times the older rows were thinned out

    @property
    def capacity(self) -> int:
        return self._cap

    def append(self, cols: dict) -> int:
        k = len(next(iter(cols.values()))) if cols else 0
        if k == 0:
            return 0
        half = self.max_rows // 2
        if k > half:  # more rows than the recent half holds: feed them in pieces
            for s in range(0, k, half):
                self.append({name: np.asarray(v)[s:s + half] for name, v in cols.items()})
            return k
        while self.n + k > self.max_rows:
            self._decimate()
        need = self.n + k
        if need > self._cap:
            cap = self._cap
            while cap < need:
                cap *= 2
            cap = min(cap, self.max_rows)
            for name, arr in self._data.items():
                grown = np.full(cap, np.nan)
                grown[:self.n] = arr[:self.n]
                self._data[name] = grown
            self._cap = cap
        for name in self.names:
            if name in cols:
                self._data[name][self.n:need] = np.asarray(cols[name], dtype=np.float64)
            else:
                self._data[name][self.n:need] = np.nan
        self.n = need
        return k

    def _decimate(self) -> None:
        """Keep every other row of the older half (row 0 included), then the newer half whole.

        Into new arrays: the plots may still hold views of the old ones until their next redraw."""
        n = self.n
        old = n // 2
        kept = (old + 1) // 2
        for name, arr in self._data.items():
            new = np.full(self._cap, np.nan)
            new[:kept] = arr[:old:2]
            new[kept:kept + n - old] = arr[old:n]
            self._data[name] = new
        self.n = kept + n - old
        self.decimations += 1

    def view(self, name: str) -> np.ndarray:
        return self._data[name][:self.n]

    def clear(self) -> None:
        self.n = 0

    def keep_until(self, upto: float, name: str = "gen_iter") -> None:
        """Drop the rows whose ``name`` (increasing) is past ``upto``."""
        self.n = int(np.searchsorted(self.view(name), upto, side="right"))




class RunModel(QObject):
    """The current run. ``run_changed``: another run (or none) is current, redraw everything from
    the model. The other signals carry what was just added to it."""

    run_changed = Signal()
    metrics_appended = Signal(object)       # a batch of rows {column: array}, already in metrics
    metrics_replaced = Signal()             # rows were dropped (NaN rollback, continuing from older)
    samples_changed = Signal(object)        # the payload now in samples
    event_added = Signal(object)            # an event now in events (and in log)
    note_added = Signal(str)                # a studio line now in log
    state_changed = Signal(str)
    live_values_changed = Signal(object)    # {key: value}
    ready = Signal()                        # the source's run can be steered
    failed = Signal(str, str)
    ended = Signal()                        # the source has ended; state is final

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.source: RunSource | None = None
        self.state = "idle"
        self.config: Config | None = None
        self.path: Path | None = None
        self.opened = False                   # a run folder shown, not running here
        self.objective, self.is_toy = "wgan-gp", True
        self.events: list[dict] = []
        self.log: list[dict | str] = []       # events and the studio's own lines, in order
        self.samples: dict | None = None
        self.live_values: dict = {}
        self.device = ""
        self.generation = 0                   # +1 at every run_changed; late results name theirs
        self._metrics: ColumnBuffer | None = None
        self._active = False

    # ------------------------------------------------------------------ what it holds
    @property
    def trainer(self):
        return self.source.trainer if self.source is not None else None

    @property
    def worker(self):
        return self.source.worker if self.source is not None else None

    def is_active(self) -> bool:
        """True from start() until the source has ended (its last signal handled)."""
        return self._active

    @property
    def rows(self) -> int:
        return self._metrics.n if self._metrics is not None else 0

    def columns(self) -> dict[str, np.ndarray]:
        m = self._metrics
        return {k: m.view(k) for k in m.names} if m is not None else {}

    def last_iter(self) -> int:
        return int(self._metrics.view("gen_iter")[-1]) if self.rows and "gen_iter" in self._metrics.names else 0

    def progress(self) -> Progress:
        if self.source is not None:
            p = self.source.progress()
            if p.total or p.gen_iter:
                return p
        total = self.config.train.iterations if self.config is not None else 0
        if self.opened:
            # The training time the run's last stop / finish event recorded.
            elapsed = next((float(e["elapsed_s"]) for e in reversed(self.events) if "elapsed_s" in e), None)
            return Progress(self.last_iter(), total or self.last_iter(), elapsed_s=elapsed)
        return Progress(0, total)

    # ------------------------------------------------------------------ turning to another run
    def clear(self, config: Config | None = None) -> None:
        """No run: the window shows ``config``, the configuration the next run starts with."""
        self._replace(None)
        self.config, self.path, self.opened = config, None, False
        self.objective, self.is_toy = run_kind(config, {}) if config is not None else ("wgan-gp", True)
        self.live_values = config_live_values(config) if config is not None else {}
        self.state = "idle"
        self._changed()

    def show_run(self, path: Path, config: Config | None, columns: Mapping[str, list], events: list[dict],
                 state: str) -> None:
        """A run folder to look at (and perhaps continue): its rows, events and final state."""
        self._replace(None)
        self.config, self.path, self.opened = config, Path(path), True
        self.objective, self.is_toy = run_kind(config, columns)
        if columns and len(columns.get("gen_iter", ())):
            self._append({k: np.asarray(v, dtype=np.float64) for k, v in columns.items()})
        self.events = list(events)
        self.log = list(self.events)
        # The values the run ended with: its config's, every logged edit, then its last row's.
        last = {e["key"]: e["new"] for e in self.events if e.get("type") == "edit" and "new" in e}
        last.update({k: columns[k][-1] for k in LIVE_KEYS if len(columns.get(k, ()))})
        self.live_values = config_live_values(config, last) if config is not None else {}
        self.state = state
        self._changed()

    def start(self, source: RunSource, config: Config, path: Path, *, continued: bool = False) -> None:
        """A run from ``source``: a new one, or (``continued``) the opened run going on, whose rows,
        events and log stay."""
        keep = continued and self.opened
        kept = (self._metrics, self.events, self.log, self.samples, self.live_values)
        self._replace(source)
        if keep:
            self._metrics, self.events, self.log, self.samples, _ = kept
        self.config, self.path, self.opened = config, Path(path), False
        self.objective, self.is_toy = run_kind(config, {})
        self.live_values = kept[4] if keep else config_live_values(config)
        self.state = "starting"
        self._active = True
        for sig, slot in self._wiring(source):
            sig.connect(slot)
        self._changed()
        source.start()

    def _replace(self, source: RunSource | None) -> None:
        if self._active:
            # Its thread would go on with nobody listening, and the window would think it idle.
            raise RuntimeError("a run is in progress: stop it before showing another")
        old = self.source
        if old is not None and old is not source:
            # Late signals of the earlier run (queued before it was replaced) must not reach this one.
            for sig, slot in self._wiring(old):
                sig.disconnect(slot)
        self.source = source
        self._active = False
        self._metrics = None
        self.events, self.log = [], []
        self.samples = None
        self.device = ""

    def _wiring(self, source: RunSource) -> list:
        return [(source.ready, self._on_ready), (source.metrics, self._on_metrics),
                (source.samples, self._on_samples), (source.event, self._on_event),
                (source.state_changed, self.set_state), (source.failed, self._on_failed),
                (source.ended, self._on_ended), (source.metrics_reset, self._on_metrics_reset)]

    def _changed(self) -> None:
        self.generation += 1
        self.run_changed.emit()
        self.state_changed.emit(self.state)

    # ------------------------------------------------------------------ changes within a run
    def set_state(self, state: str) -> None:
        if self.state == "stopping" and state in ("running", "paused"):
            return  # a late state report from before the stop request
        self.state = state
        self.state_changed.emit(state)

    def add_note(self, text: str) -> None:
        """A line of the studio's own (not an engine event) in the run's log."""
        self.log.append(text)
        self.note_added.emit(text)

    def set_samples(self, payload: dict, generation: int | None = None) -> bool:
        """Show ``payload``; one made for an earlier run (``generation`` given and past) is dropped."""
        if generation is not None and generation != self.generation:
            return False
        self.samples = payload
        self.samples_changed.emit(payload)
        return True

    def keep_until(self, gen_iter: int) -> None:
        """Drop the rows past ``gen_iter``: they are no longer part of the run."""
        if self._metrics is not None and self.rows and self.last_iter() > gen_iter:
            self._metrics.keep_until(gen_iter)
            self.metrics_replaced.emit()

    def refresh_live_values(self) -> None:
        """Read the live values from the source again (after the engine restored a checkpoint's)."""
        values = self.source.live_values() if self.source is not None else {}
        if values:
            self.live_values = values
            self.live_values_changed.emit(dict(values))

    def preview_config(self, config: Config) -> None:
        """Between runs: the form changed; show the values the next run starts with."""
        if self.source is not None or self.opened:
            return
        self.config = config
        self.objective, self.is_toy = run_kind(config, {})
        self.live_values = config_live_values(config)
        self.live_values_changed.emit(dict(self.live_values))

    def _append(self, cols: Mapping[str, np.ndarray]) -> None:
        m = self._metrics
        if m is None or not set(cols) <= set(m.names):
            names = tuple(dict.fromkeys([*(m.names if m is not None else ()), *cols]))
            grown = ColumnBuffer(names)
            if m is not None and m.n:
                grown.append({k: m.view(k) for k in m.names})
            self._metrics = m = grown
        m.append(cols)

    # ------------------------------------------------------------------ from the source
    @Slot(object)
    def _on_ready(self, info: dict) -> None:
        self.device = str(info.get("device", ""))
        self.live_values = dict(info.get("values") or self.live_values)
        self.live_values_changed.emit(dict(self.live_values))
        for w in info.get("warnings", ()):
            self.add_note(f"warning: {w}")
        self.ready.emit()

    @Slot(object)
    def _on_metrics(self, cols) -> None:
        self._append(cols)
        self.metrics_appended.emit(cols)

    @Slot()
    def _on_metrics_reset(self) -> None:
        if self._metrics is not None and self.rows:
            self._metrics.clear()
            self.metrics_replaced.emit()

    @Slot(object)
    def _on_samples(self, payload) -> None:
        self.set_samples(payload)

    @Slot(object)
    def _on_event(self, ev) -> None:
        ev = dict(ev)
        self.events.append(ev)
        self.log.append(ev)
        if ev.get("type") == "edit" and ev.get("key") in LIVE_KEYS:
            self.live_values[ev["key"]] = ev.get("new")
        self.event_added.emit(ev)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.set_state("failed")
        self.failed.emit(message, details)

    @Slot()
    def _on_ended(self) -> None:
        self._active = False
        if self.state in ACTIVE or self.state == "not responding":
            trainer = self.trainer
            final = trainer.state if trainer is not None else ("stopped" if self.source is not None and
                                                                not self.source.owns_run else "failed")
            self.state = final if final in ("finished", "stopped", "failed", "idle") else "stopped"
            self.state_changed.emit(self.state)
        self.ended.emit()
