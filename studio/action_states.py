"""Which of the window's actions can be used, and what they say: declared once, from a small
immutable view of the current run and the configuration form (no Qt here).

:func:`window_view` takes what the window shows; :func:`action_states` turns it into the
state of every action, which the window applies as it is. A change of state anywhere (a run
started, paused, ended, switched to; the form edited) goes through these two functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.status import RunState

from .runs import LOCAL, Run

START_TIP = "Start training"


@dataclass(frozen=True)
class WindowView:
    """What the actions depend on."""

    state: RunState = RunState.IDLE
    active: bool = False              # the current run is in progress (trained, followed or started here)
    controllable: bool = False        # pause / step / stop reach the current run
    exportable: bool = False          # the current run has a generator to sample (trained here, or a checkpoint)
    training_here: str | None = None  # the name of the run this studio trains, if one is in progress
    form_error: str | None = None     # why the configuration form cannot be used (None: it can)
    continues: bool = False           # Start continues the current run (an opened folder)
    start_hint: str = ""              # what Start will do, or why it does not continue the run
    runs: int = 1                     # runs held


@dataclass(frozen=True)
class ActionState:
    enabled: bool
    text: str | None = None           # None: the action's own text
    tip: str | None = None            # None: the action's own tooltip


def window_view(run: Run, form_error: str | None, training_here: Run | None, runs: int,
                continuation=None) -> WindowView:
    """The view of ``run`` (the current one); ``continuation``: the plan of the form's
    configuration for it (an engine.continuation.Continuation), when it is an opened folder."""
    source = run.source
    can_steer = source is not None and bool(getattr(source, "can_steer", False))
    exportable = run.kind == LOCAL or (run.report is not None and run.report.checkpoint is not None)
    return WindowView(
        state=run.state, active=run.active, controllable=run.active and can_steer, exportable=exportable,
        training_here=training_here.name if training_here is not None else None, form_error=form_error,
        continues=bool(continuation is not None and continuation.possible),
        start_hint=_start_hint(run, continuation), runs=runs)


def _start_hint(run: Run, continuation) -> str:
    if continuation is None:
        return ""
    if continuation.possible:
        return f"Resume run: {continuation.message}."
    return f"{continuation.message[:1].upper()}{continuation.message[1:]}: Start begins a new run."


def start_state(v: WindowView) -> ActionState:
    if v.training_here is not None:
        why = f"Cannot start: {v.training_here} is training (one run at a time: stop it first)"
        return ActionState(False, "Start", why)
    if v.active:
        return ActionState(False, "Start", "Cannot start while this run is in progress")
    if v.form_error is not None:
        return ActionState(False, "Start", f"Cannot start: {v.form_error}")
    # An opened run that can go on says so on the button itself, not only in a tooltip.
    return ActionState(True, "Continue run" if v.continues else "Start", v.start_hint or START_TIP)


def action_states(v: WindowView) -> dict[str, ActionState]:
    """Every action's state (the keys are the window's ``act_*`` names without the prefix, and
    ``form``: whether the configuration form can be edited)."""
    start = start_state(v)
    can_start = v.training_here is None and not v.active and v.form_error is None
    running = v.controllable and v.state in (RunState.RUNNING, RunState.PAUSED, RunState.STARTING)
    paused = v.state == RunState.PAUSED
    return {
        "start": start,
        "start_procs": ActionState(can_start),
        "pause": ActionState(running, "Resume" if paused else "Pause"),
        "step": ActionState(running and paused),
        "stop": ActionState(running),
        "export": ActionState(v.exportable),
        "train_drawing": ActionState(v.training_here is None),
        "close_run": ActionState(not v.active and (v.runs > 1 or v.state != RunState.IDLE)),
        "next_run": ActionState(v.runs > 1),
        "previous_run": ActionState(v.runs > 1),
        "form": ActionState(not v.active),
    }
