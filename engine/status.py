"""The words every front end uses for where a run is: its state and its status.

:class:`RunState` is the one vocabulary of run states, shared by the trainer (``Trainer.state``),
the heartbeat it writes (``status.json``), the follower of a run folder (:mod:`engine.follow`),
the command line (``wgan-ctl status``) and the studio. :class:`RunStatus` is the heartbeat itself:
what a front end shows of a run (state, iteration of total, speed, training time, live values,
device), the same whether the run trains in this process (``Trainer.status()`` and the observers'
``on_status``) or in another one (``status.json``).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field


class RunState(enum.StrEnum):
    """Where a run is. The values are the words written to ``status.json`` and shown to users."""

    IDLE = "idle"                          # nothing started yet
    QUEUED = "queued"                      # waiting for a slot
    STARTING = "starting"                  # its process or thread is building it
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"                  # asked to stop: finishing the iteration, writing a checkpoint
    FINISHED = "finished"                  # trained all its iterations
    STOPPED = "stopped"                    # stopped before the end (a checkpoint was written)
    FAILED = "failed"                      # ended by an error (the last good checkpoint is kept)
    NOT_RESPONDING = "not responding"      # its heartbeat stopped while it was training
    CONNECTION_LOST = "connection lost, retrying"  # a follower lost its link to the run's machine (SSH)

    @classmethod
    def parse(cls, text: object) -> RunState | None:
        """The state a word names, also the words of earlier versions ("error" for a failed run,
        "waiting" for one not started yet); None for anything else."""
        if isinstance(text, RunState):
            return text
        word = _OLD_WORDS.get(str(text), str(text))
        try:
            return cls(word)
        except ValueError:
            return None

    @property
    def active(self) -> bool:
        """A process or thread is working on the run (or about to)."""
        return self in ACTIVE_STATES

    @property
    def ended(self) -> bool:
        return self in ENDED_STATES


_OLD_WORDS = {"error": "failed", "waiting": "starting"}

#: States in which a process or thread owns the run.
ACTIVE_STATES = frozenset({RunState.STARTING, RunState.RUNNING, RunState.PAUSED, RunState.STOPPING})
#: States a run ends in.
ENDED_STATES = frozenset({RunState.FINISHED, RunState.STOPPED, RunState.FAILED})


@dataclass(frozen=True)
class RunStatus:
    """What a front end shows of a run. ``None``: not known (yet)."""

    state: RunState = RunState.IDLE
    gen_iter: int = 0
    total: int = 0
    its_per_sec: float | None = None
    elapsed_s: float | None = None
    live: Mapping[str, float] = field(default_factory=dict)
    device: str = ""

    @classmethod
    def from_dict(cls, d: Mapping | None) -> RunStatus:
        """A heartbeat (``status.json``) as written by this or an earlier version; missing or
        malformed fields are not known."""
        d = d if isinstance(d, Mapping) else {}
        live = d.get("live")
        return cls(state=RunState.parse(d.get("state")) or RunState.IDLE,
                   gen_iter=_int(d.get("gen_iter")), total=_int(d.get("total")),
                   its_per_sec=_positive(d.get("its_per_sec")), elapsed_s=_positive(d.get("elapsed_s"), zero=True),
                   live=dict(live) if isinstance(live, Mapping) else {}, device=str(d.get("device") or ""))

    def to_dict(self) -> dict:
        """The heartbeat's fields (``status.json``)."""
        return {"state": str(self.state), "gen_iter": self.gen_iter, "total": self.total,
                "its_per_sec": None if self.its_per_sec is None else round(self.its_per_sec, 4),
                "elapsed_s": None if self.elapsed_s is None else round(self.elapsed_s, 2),
                "live": dict(self.live), "device": self.device}

    @property
    def eta_s(self) -> float | None:
        """Seconds to the last iteration at the current speed; None while not training or not known."""
        if self.state not in (RunState.RUNNING, RunState.STARTING) or not self.its_per_sec:
            return None
        return max(self.total - self.gen_iter, 0) / self.its_per_sec

    @property
    def fraction(self) -> float:
        """The share of the iterations done, in [0, 1]."""
        return min(max(self.gen_iter / self.total, 0.0), 1.0) if self.total > 0 else 0.0


def _int(v) -> int:
    return int(v) if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) else 0


def _positive(v, zero: bool = False) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v) if v > 0 or (zero and v == 0) else None
