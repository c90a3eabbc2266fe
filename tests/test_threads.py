"""The thread tuner: on a simulated 2-core machine whose speed per thread count the test sets."""

from __future__ import annotations

from engine.threads import ThreadTuner, candidates
from tests.helpers import ManualClock


class Machine:
    """Seconds per iteration by thread count: quiet, 2 threads win; with a busy neighbour, 1 wins."""

    QUIET = {2: 0.10, 1: 0.16}
    BUSY = {2: 0.37, 1: 0.19}  # the 3.7x loss of 2 threads beside a busy process, and 1 thread's ~2x

    def __init__(self, watch_others: bool = False):
        self.clock = ManualClock()
        self.threads = 2
        self.speeds = self.QUIET
        self.neighbour_cores = 0.0  # CPU other processes use, for a tuner that watches them
        self.others_s = 0.0
        self.tuner = ThreadTuner(2, clock=self.clock, set_threads=self.set_threads,
                                 others=(lambda: self.others_s) if watch_others else None)
        self.time_at = {1: 0.0, 2: 0.0}

    def set_threads(self, n):
        self.threads = n

    def run(self, seconds):
        end = self.clock.now + seconds
        while self.clock.now < end:
            dt = self.speeds[self.threads]
            self.clock.advance(dt)
            self.others_s += self.neighbour_cores * dt
            self.time_at[self.threads] += dt
            self.tuner.iteration()


def test_candidates():
    assert candidates(1) == [1] and candidates(2) == [2, 1] and candidates(8) == [8, 7, 4, 1]
    assert not ThreadTuner(1).active


def test_quiet_machine_keeps_every_thread_and_spends_little_on_trials():
    m = Machine()
    m.run(600)
    assert m.threads == 2 and m.tuner.current == 2
    assert len(m.tuner.history) >= 3  # it did look
    assert m.time_at[1] / 600 < 0.01, "trials cost under 1% of a quiet run"


def test_a_run_that_starts_beside_a_busy_process_moves_to_one_thread_within_seconds():
    m = Machine()
    m.speeds = Machine.BUSY
    m.run(6)  # the first trial 2 s in, one thread and then two timed for a few iterations each
    assert m.threads == 1 and len(m.tuner.history) == 1


def test_busy_neighbour_moves_to_one_thread_and_back_when_it_leaves():
    m = Machine()
    m.run(30)
    m.speeds = Machine.BUSY  # another process starts
    m.run(5)
    assert m.threads == 1, "a slowdown is noticed within a few iterations, not at the next planned trial"
    m.time_at = {1: 0.0, 2: 0.0}
    m.run(120)
    assert m.time_at[2] / 120 < 0.05  # it stays on 1 thread while the neighbour runs
    m.speeds = Machine.QUIET  # the neighbour ends
    m.run(5)
    assert m.threads == 2, m.tuner.history


def test_on_a_quiet_machine_only_the_first_trial_runs_when_it_watches_other_processes():
    m = Machine(watch_others=True)
    m.neighbour_cores = 0.02  # a clock applet
    m.run(600)
    assert m.threads == 2 and len(m.tuner.history) == 1 and m.tuner.skipped >= 3
    assert m.time_at[1] / 600 < 0.002
    m.neighbour_cores = 0.5  # something else runs now, without slowing this run yet: look again as planned
    m.run(400)
    assert len(m.tuner.history) >= 2 and m.threads == 2


def test_watching_other_processes_still_follows_a_busy_neighbour():
    m = Machine(watch_others=True)
    m.run(200)
    m.speeds, m.neighbour_cores = Machine.BUSY, 1.0
    m.run(5)
    assert m.threads == 1
    m.time_at = {1: 0.0, 2: 0.0}
    m.run(300)
    assert m.time_at[2] / 300 < 0.05  # the planned trials are not skipped: it keeps 1 thread ...
    m.speeds, m.neighbour_cores = Machine.QUIET, 0.0
    m.run(5)
    assert m.threads == 2, m.tuner.history  # ... and goes back to 2 when the neighbour ends


def test_a_slowdown_that_threads_cannot_help_does_not_flip_flop():
    m = Machine()
    m.run(30)
    m.speeds = {2: 0.30, 1: 0.48}  # everything 3x slower (e.g. a throttled CPU): 2 threads still win
    m.run(300)
    assert m.threads == 2 and m.time_at[1] / 330 < 0.03


def test_iterations_with_other_work_and_pauses_are_not_counted():
    m = Machine()
    m.run(25)  # into the first trial
    m.tuner.interrupted()
    m.clock.advance(1000)  # a long pause: not an iteration's time
    m.tuner.iteration(plain=False)  # and an iteration that wrote a checkpoint
    m.run(30)
    assert m.threads == 2 and all(max(med.values()) < 1 for _, _, med in m.tuner.history)


def test_the_trainer_tunes_its_threads_only_when_asked(monkeypatch):
    import torch

    from engine import Trainer
    from engine import threads as mod
    from tests.helpers import tiny_config

    monkeypatch.setattr(mod, "default_threads", lambda: 2)
    assert Trainer(tiny_config(train__threads=1), None).thread_tuner is None
    auto = Trainer(tiny_config(train__threads=0, train__eval_every=0, train__sample_every=0), None)
    tuner = auto.thread_tuner
    assert tuner is not None and tuner.choices == [2, 1]
    # The loop hands it every iteration; a clock on which one thread is faster (a busy neighbour)
    # makes it switch the count.
    clock = ManualClock()
    speed, threads = {2: 0.37, 1: 0.19}, [2]
    tuner.clock = clock
    tuner._set = lambda n: threads.__setitem__(0, n)
    step = auto.step

    def timed_step():
        step()
        clock.advance(speed[threads[0]])

    monkeypatch.setattr(auto, "step", timed_step)
    auto.run(iterations=100)
    assert tuner.current == 1 and threads[0] == 1, tuner.history
    before = torch.get_num_threads()
    seen = _ThreadsSeen()
    try:
        Trainer(tiny_config(train__threads=1, train__iterations=1), None, observers=[seen]).run()
        assert seen.counts == {1}  # a fixed count, set on the training thread for the run ...
        assert torch.get_num_threads() == before  # ... and given back at its end
    finally:
        torch.set_num_threads(before)


class _ThreadsSeen:
    """An observer noting the thread count the training thread runs with at each report."""

    def __init__(self):
        self.counts: set[int] = set()

    def on_metrics(self, cols):
        import torch

        self.counts.add(torch.get_num_threads())


def test_a_later_run_in_the_same_process_trains_on_every_thread_again(monkeypatch):
    """The studio runs every run in one process and PyTorch's thread count is process-wide: a run
    that ended while the tuner was trying one thread left the next run one thread, for good (its
    tuner took the count it found as the most it may use), and it trained ~35% slower than the
    same run from the command line (benchmarks/gui_overhead.py)."""
    import torch

    from engine import Trainer
    from engine import threads as mod
    from tests.helpers import tiny_config

    monkeypatch.setattr(mod, "default_threads", lambda: 2)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    cfg = dict(train__threads=0, train__iterations=3, train__eval_every=0, train__sample_every=0,
               train__checkpoint_every=0)
    try:
        first = Trainer(tiny_config(**cfg), None, observers=[_ThreadsSeen()])
        first.thread_tuner._hold = 0.0  # a trial of one thread begins at the second iteration ...
        first.run()                  # ... and the run ends before it does
        assert 1 in first.observers[0].counts
        assert torch.get_num_threads() == 2
        seen = _ThreadsSeen()
        Trainer(tiny_config(**cfg), None, observers=[seen]).run()
        assert seen.counts == {2}
    finally:
        torch.set_num_threads(before)


def test_a_sudden_tenfold_slowdown_is_met_within_a_few_iterations():
    """A busy neighbour with threads of its own: 2 threads 10x slower (seen on the digits preset),
    which eight iterations of drift would take 8 s of 1 s iterations to notice."""
    m = Machine()
    m.run(30)
    m.speeds = {2: 1.0, 1: 0.19}
    start = m.clock.now
    while m.threads == 2 or m.tuner._trying is not None:
        m.run(0.01)
        assert m.clock.now - start < 5, m.tuner.history  # under 5 of the slow iterations, trial included
    assert m.tuner.current == 1
    m.time_at = {1: 0.0, 2: 0.0}
    m.run(120)
    assert m.time_at[2] / 120 < 0.05, "no flip-flop back to the slow count"


def _run_with_evaluations(m: Machine, seconds: float, told: bool) -> None:
    """Machine.run, with the run's own evaluations every 20 iterations: 0.8 s of work on the
    training thread (an evaluation batch, a best checkpoint, a picture), then the measurement
    computing on another thread for 3 iterations, each 3x slower beside it. ``told``: the trainer
    says so (extra_s, plain=False), as engine.Trainer does."""
    end, k, slowed = m.clock.now + seconds, 0, 0
    while m.clock.now < end:
        k += 1
        dt = m.speeds[m.threads] * (3 if slowed else 1)
        m.clock.advance(dt)
        m.time_at[m.threads] += dt
        evaluating = slowed > 0
        slowed = max(slowed - 1, 0)
        extra = 0.0
        if k % 20 == 0:
            extra, slowed = 0.8, 3
            m.clock.advance(extra)
        if told:
            m.tuner.iteration(plain=not evaluating, extra_s=extra)
        else:
            m.tuner.iteration()


def test_the_runs_own_evaluations_do_not_start_trials():
    """A toy run evaluates every 100 iterations; each evaluation's work on the training thread and
    the optimal assignment beside it made iterations look 2.5x slower, and every one started a
    trial at one thread (a quiet toy run lost ~10% to them)."""
    told, blind = Machine(), Machine()
    _run_with_evaluations(told, 300, told=True)
    _run_with_evaluations(blind, 300, told=False)
    assert told.threads == 2
    assert len(told.tuner.history) <= 4, told.tuner.history  # only the planned trials (2, 42, 122, 282 s)
    assert len(blind.tuner.history) > 2 * len(told.tuner.history), "without being told, it trials at each one"
    assert told.time_at[1] < 0.5 * blind.time_at[1]


def test_the_trainer_tells_the_tuner_its_periodic_work(monkeypatch):
    """engine.Trainer times its periodic work on the tuner's clock and hands it over: a slow
    checkpoint every 10 iterations does not look like a slower machine."""
    import torch

    from engine import Trainer
    from engine import threads as mod
    from tests.helpers import tiny_config

    monkeypatch.setattr(mod, "default_threads", lambda: 2)
    auto = Trainer(tiny_config(train__threads=0, train__eval_every=0, train__sample_every=0), None)
    tuner = auto.thread_tuner
    clock = ManualClock()
    tuner.clock = clock
    tuner._set = lambda n: None
    periodic, step = auto.periodic_work, auto.step

    def slow_periodic():
        periodic()
        if auto.gen_iter % 10 in (0, 1):
            clock.advance(1.0)  # a checkpoint, then an evaluation batch: 4x an iteration each

    def timed_step():
        clock.advance(0.25)
        step()

    monkeypatch.setattr(auto, "periodic_work", slow_periodic)
    monkeypatch.setattr(auto, "step", timed_step)
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the real count does not matter here (the clock is the test's), and
    try:                      # one thread keeps this quick on a loaded machine
        auto.run(iterations=160)  # 72 s on the clock: the planned trials at 2 s and ~42 s, no others
    finally:
        torch.set_num_threads(before)
    assert len(tuner.history) <= 2, tuner.history
