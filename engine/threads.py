"""How many CPU threads train fastest right now: a small online tuner for the CPU path.

PyTorch splits each operation over ``torch.get_num_threads()`` threads and waits at the end for
the slowest. When another process takes one of the cores, one of our threads gets half a core
and every operation waits for it: with 2 threads on 2 shared cores the digits preset ran 3.7x
slower beside one busy process, for half of the machine taken. With fewer threads it loses
only the share that is taken. No setting is right for both a quiet and a busy laptop, and the
load changes during a run, so the tuner measures: now and then it runs a few iterations with
each candidate count, keeps the fastest, and holds it for a while (longer while nothing
changes; none at all while no other process runs, once the first trial has found every thread
fastest). When the iterations become much slower or faster than at the last trial (another
process started or ended), it looks again at once.

Iteration times are wall times between generator-iteration boundaries, read on the training
thread with no device sync; it runs on the CPU device only (a GPU's speed does not depend on
the host's thread count in this way).
"""

from __future__ import annotations

import os
import statistics
import time

import torch

# The first trial comes after FIRST_S of iterations: before it there is no reference to notice a
# slowdown by, and beside a busy process the digits preset ran its first 20 s at 2 threads, ~3x
# slower than at one (benchmarks/time_to_result.py --busy: 45 s for the first 50 iterations).
FIRST_S = 2.0
HOLD_S = 20.0        # the first hold between trials, doubled while nothing changes ...
MAX_HOLD_S = 160.0   # ... up to this
TRIAL_S = 0.4        # each candidate runs at least this long in a trial ...
TRIAL_ITS = 3        # ... and at least this many timed iterations
SWITCH_GAIN = 0.08   # a candidate must be this much faster than the current count to replace it
SLOWER, FASTER = 1.3, 0.88  # iterations this much slower or faster than at the last trial: look again now
RECENT = 8           # iterations the drift is judged on
# An iteration this much slower than at the last trial is a jump, not drift: two plain ones in a row
# start a trial at once (a busy neighbour can make 2 threads 10x slower, and 8 such iterations
# took over a minute on the digits preset); and a candidate this much slower than the best one
# measured in the same trial is dropped after one iteration instead of TRIAL_ITS.
JUMP = 2.5
# A planned trial is skipped when other processes used less than this share of one core since the
# last trial and every thread is in use: nothing changed that fewer threads could win from. On a
# quiet machine a trial's iterations at one thread were the whole of what the tuner cost (~8% of a
# 12 s stretch of the digits preset; benchmarks/dcgan_throughput.py).
QUIET_CORES = 0.15


def default_threads() -> int:
    """The thread count PyTorch would use, bounded by the CPUs this process may run on."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(torch.get_num_threads(), cpus))


def machine_busy_s() -> float | None:
    """CPU seconds every process on the machine has used since boot (the busy time in
    ``/proc/stat``: all but idle and I/O wait). None where that cannot be read (not Linux)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            v = [int(x) for x in f.readline().split()[1:8]]
        tick = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    return (sum(v) - v[3] - v[4]) / tick


def others_cpu_s() -> float | None:
    """CPU seconds all other processes have used since boot: :func:`machine_busy_s` less this
    process's own. None where that cannot be read."""
    busy = machine_busy_s()
    if busy is None:
        return None
    own = os.times()
    return busy - (own.user + own.system)


def candidates(n: int) -> list[int]:
    """Thread counts worth trying on ``n`` CPUs: all of them, one fewer, half, and one."""
    return sorted({n, max(n - 1, 1), max(n // 2, 1), 1}, reverse=True)


class ThreadTuner:
    """Call :meth:`iteration` at each generator-iteration boundary on the training thread.

    ``plain=False`` marks an iteration whose time says nothing about the thread count (the
    run's own evaluation was computing beside it on another thread): it is not counted.
    ``extra_s`` is time the iteration spent on other work of its own (reporting, an evaluation
    batch, a picture, a checkpoint), taken off its time. Without either, every evaluation of a
    toy run (an optimal assignment off the training thread, a best checkpoint, a picture) made
    a few iterations look 2.5x slower and started a trial, at one thread, every 100 iterations.
    ``others``: a function returning the CPU seconds other processes have used (such as
    :func:`others_cpu_s`); with it, planned trials are skipped while nothing else runs (see
    QUIET_CORES). ``clock``, ``set_threads`` and ``others`` are injectable for tests."""

    def __init__(self, max_threads: int | None = None, *, clock=time.perf_counter, set_threads=torch.set_num_threads,
                 hold_s: float = HOLD_S, max_hold_s: float = MAX_HOLD_S, trial_s: float = TRIAL_S,
                 trial_its: int = TRIAL_ITS, others=None):
        self.max_threads = max_threads or default_threads()
        self.clock, self._set, self._others = clock, set_threads, others
        self._mark: tuple[float, float] | None = None  # (time, others' CPU seconds) at the last trial's end
        self.skipped = 0  # planned trials skipped on a quiet machine
        self.hold_s, self.max_hold_s, self.trial_s, self.trial_its = hold_s, max_hold_s, trial_s, trial_its
        self.current = self.max_threads
        self.choices = candidates(self.max_threads)
        self.history: list[tuple[float, int, dict[int, float]]] = []  # (time, chosen, median s/it per count)
        self._hold = hold_s
        self._last: float | None = None
        self._next_trial: float | None = None
        self._queue: list[int] = []       # counts still to try in this trial
        self._trying: int | None = None
        self._trial_start = 0.0
        self._times: dict[int, list[float]] = {}
        self._skip_next = False
        self._reference: float | None = None  # the current count's median at the last trial
        self._recent: list[float] = []
        self._jumps = 0
        self._baseline: float | None = None

    @property
    def active(self) -> bool:
        return len(self.choices) > 1

    def iteration(self, plain: bool = True, extra_s: float = 0.0) -> None:
        now = self.clock()
        last, self._last = self._last, now
        if not self.active:
            return
        if self._next_trial is None:
            self._next_trial = now + min(FIRST_S, self._hold)
        if last is None:
            return
        dt = max(now - last - extra_s, 0.0)
        if self._trying is None:
            if plain:
                self._recent = (self._recent + [dt])[-RECENT:]
                jump = self._reference is not None and dt > JUMP * self._reference
                self._jumps = self._jumps + 1 if jump else 0
            if self._drifted() or self._jumps >= 2 or (now >= self._next_trial and not self._quiet_since_trial(now)):
                self._start_trial(now)
            return
        hopeless = False
        if plain and not self._skip_next:
            self._times.setdefault(self._trying, []).append(dt)
            measured = [statistics.median(t) for c, t in self._times.items() if t and c != self._trying]
            if self._baseline is not None:
                measured.append(self._baseline)
            hopeless = bool(measured) and dt > JUMP * min(measured)
        self._skip_next = False
        done = (len(self._times.get(self._trying, [])) >= self.trial_its and now - self._trial_start >= self.trial_s)
        if done or hopeless:
            self._next_candidate(now)

    def interrupted(self) -> None:
        """The loop stopped for a while (a pause): the next interval is not an iteration's time."""
        self._last = None

    def resume(self) -> None:
        """Set the count again (the candidate on trial, else the chosen one) for a loop that starts
        again after the count was given back (:meth:`engine.Trainer.run` gives it back at its end)."""
        self._apply(self._trying if self._trying is not None else self.current)
        self.interrupted()

    # ------------------------------------------------------------------ trials
    def _drifted(self) -> bool:
        if self._reference is None or len(self._recent) < RECENT:
            return False
        ratio = statistics.median(self._recent) / self._reference
        return ratio > SLOWER or ratio < FASTER

    def _quiet_since_trial(self, now: float) -> bool:
        """True (and the planned trial put off) when every thread is in use and other processes
        used less than QUIET_CORES of a core since the last trial."""
        if self._mark is None or self.current != self.max_threads:
            return False
        t0, o0 = self._mark
        o1 = self._others()
        if o1 is None or now <= t0 or (o1 - o0) / (now - t0) >= QUIET_CORES:
            return False
        self._hold = min(self._hold * 2, self.max_hold_s)
        self._next_trial = now + self._hold
        self._mark = (now, o1)
        self.skipped += 1
        return True

    def _start_trial(self, now: float) -> None:
        # the current count's speed just before the trial (a jump: the slow iterations themselves)
        self._baseline = statistics.median(self._recent[-3:]) if len(self._recent) >= 3 else None
        self._recent = []
        self._jumps = 0
        # The current count last, so it is measured in the same conditions as the others.
        self._queue = [c for c in self.choices if c != self.current] + [self.current]
        self._times = {}
        self._next_candidate(now)

    def _next_candidate(self, now: float) -> None:
        if not self._queue:
            self._decide(now)
            return
        self._trying = self._queue.pop(0)
        self._trial_start = now
        self._apply(self._trying)
        self._skip_next = True  # the first iteration after a change wakes the new thread team

    def _decide(self, now: float) -> None:
        medians = {c: statistics.median(t) for c, t in self._times.items() if t}
        best = min(medians, key=medians.get) if medians else self.current
        cur = medians.get(self.current)
        changed = cur is not None and best != self.current and medians[best] < (1 - SWITCH_GAIN) * cur
        if changed:
            self.current = best
            self._hold = self.hold_s  # the load moved: look again soon
        else:
            self._hold = min(self._hold * 2, self.max_hold_s)
        self._reference = medians.get(self.current, self._reference)
        self.history.append((now, self.current, medians))
        self._apply(self.current)
        self._trying = None
        self._next_trial = now + self._hold
        others = self._others() if self._others is not None else None
        self._mark = (now, others) if others is not None else None

    def _apply(self, n: int) -> None:
        self._set(n)
