"""The runs a front end holds (Qt-free): many, keyed by their folder, one of them current.

:meth:`Runs.show` makes a run current in place of the one shown (an opened folder, a new run, the
configuration of the next one); the run it replaces is let go unless it is in progress, so a run
that trains or is followed is never dropped unseen: it stays listed until it has ended and the
user has moved on. :meth:`Runs.switch` makes another held run current without letting any go.
Listeners are plain callables, ``listener(run, change, *args)``: a run's own changes
(:data:`studio.runs.run.CHANGES`), ``"current"`` when another run became current, and ``"list"``
when runs were added, let go or changed state (``run`` is then the run concerned, or None).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from engine import Config

from .run import Run


class Runs:
    def __init__(self, config: Config | None = None):
        self._held: list[Run] = []
        self._listeners: list[Callable] = []
        self.current: Run = Run.new(config)
        self._adopt(self.current)

    # ------------------------------------------------------------------ what it holds
    def __iter__(self) -> Iterator[Run]:
        return iter(list(self._held))

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, run: Run) -> bool:
        return any(r is run for r in self._held)

    def find(self, key: str | Path | None) -> Run | None:
        """The held run of folder ``key`` (None: none is held)."""
        if key is None:
            return None
        key = Path(key).resolve()
        return next((r for r in self._held if r.key is not None and r.key.resolve() == key), None)

    def active(self) -> list[Run]:
        """The runs in progress (trained, followed or started here)."""
        return [r for r in self._held if r.active]

    def training_here(self) -> Run | None:
        """The run this studio trains itself (or a job it started), if one is in progress."""
        return next((r for r in self._held if r.trains_here), None)

    # ------------------------------------------------------------------ listeners
    def listen(self, listener: Callable) -> None:
        self._listeners.append(listener)

    def _tell(self, run: Run | None, change: str, *args) -> None:
        for listener in list(self._listeners):
            listener(run, change, *args)

    def _on_run_change(self, run: Run, change: str, *args) -> None:
        self._tell(run, change, *args)
        if change in ("state", "ended", "restart"):
            self._tell(run, "list")  # the list names each run's state

    # ------------------------------------------------------------------ changing which runs
    def _adopt(self, run: Run) -> None:
        self._held.append(run)
        run.notify = self._on_run_change

    def _drop(self, run: Run) -> None:
        self._held = [r for r in self._held if r is not run]
        run.notify = None  # late reports of its source change only the run itself

    def show(self, run: Run) -> Run:
        """Make ``run`` current in place of the current run, which is let go unless it is in
        progress. A held run of the same folder is replaced (it must not be in progress: switch
        to it instead)."""
        old = self.current
        same = self.find(run.key)
        if same is not None and same is not run:
            if same.active:
                raise RuntimeError(f"{same.name} is in progress: switch to it instead")
            self._drop(same)
        if run not in self:
            self._adopt(run)
        self.current = run
        if old is not run and old in self and not old.active:
            self._drop(old)
        self._tell(run, "current")
        self._tell(run, "list")
        return run

    def switch(self, run: Run) -> None:
        """Make the held ``run`` current; every other run stays held."""
        if run not in self:
            raise ValueError(f"{run.name} is not held")
        if run is not self.current:
            self.current = run
            self._tell(run, "current")
            self._tell(run, "list")

    def remove(self, run: Run) -> None:
        """Let ``run`` go (it must not be in progress); when it was current, the last other held
        run becomes current, or no run (its configuration kept for the next one)."""
        if run.active:
            raise RuntimeError(f"{run.name} is in progress: stop it first")
        if run not in self:
            return
        self._drop(run)
        if run is self.current:
            self.current = self._held[-1] if self._held else Run.new(run.config)
            if self.current not in self:
                self._adopt(self.current)
            self._tell(self.current, "current")
        self._tell(None, "list")
