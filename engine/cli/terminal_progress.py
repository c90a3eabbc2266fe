"""``wgan-train``'s progress on stderr: one live line on a terminal, plain periodic lines
otherwise, and a line for each event a user should see (start, edits, pauses, errors)."""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from ..measures import feature_classifier_text
from ..status import RunStatus
from .common import fmt_time

#: The events printed, each with what it says after its name.
_EVENT_DETAIL = {
    "edit": lambda ev: f"{ev['key']} {ev['old']} -> {ev['new']}",
    "pause": lambda ev: "",
    "resume": lambda ev: "",
    "error": lambda ev: ev.get("message", ""),
    "critic_overfitting": lambda ev: ev.get("message", ""),
    "start": lambda ev: start_detail(ev),
    "resume_run": lambda ev: start_detail(ev),
    "feature_classifier": lambda ev: feature_classifier_text(ev),
}


def start_detail(ev: dict) -> str:
    """The start line: the device, how the run uses it (precision and its reason...), warnings."""
    text = f"on {ev.get('device', '?')}"
    if ev.get("performance"):
        text += f": {ev['performance']}"
    if ev.get("data_scale"):
        text += f"; {ev['data_scale']}"
    if ev.get("warnings"):
        text += "; " + "; ".join(ev["warnings"])
    return text


class TerminalProgress:
    """A trainer observer that prints progress on ``stream`` (stderr): after each report (the
    metrics rows, then the run's :class:`~engine.status.RunStatus`) at most every ``interval_s``,
    and always the last iteration's."""

    def __init__(self, stream=None, interval_s: float | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval_s = interval_s if interval_s is not None else (0.2 if self.tty else 10.0)
        self._last = -math.inf  # the first report prints at once, whatever the uptime
        self._last_iter = -1
        self._w_estimate = float("nan")
        self._w1 = float("nan")
        self._reported = False  # metrics arrived: the status that follows them is printed

    def line(self, status: RunStatus) -> str:
        k, total = status.gen_iter, status.total
        parts = [f"it {k}/{total}", f"{status.its_per_sec or 0.0:.2f} it/s", f"elapsed {fmt_time(status.elapsed_s)}",
                 f"ETA {fmt_time(status.eta_s)}", f"W_est {self._w_estimate:.4f}"]
        if np.isfinite(self._w1):
            parts.append(f"W1 {self._w1:.4f}")
        if self.tty:
            width = 20
            done = int(width * k / max(total, 1))
            parts.insert(1, "[" + "=" * done + "-" * (width - done) + "]")
        return "  ".join(parts)

    def on_metrics(self, cols) -> None:
        w = cols.get("w_estimate")
        if w is not None and len(w):
            self._w_estimate = float(w[-1])
        w1 = cols.get("w1_exact")
        if w1 is not None and np.isfinite(w1).any():
            self._w1 = float(w1[np.isfinite(w1)][-1])
        self._reported = True

    def on_status(self, status: RunStatus) -> None:
        if not self._reported:
            return  # a change of state: its event says so
        self._reported = False
        now = time.monotonic()
        final = status.gen_iter >= status.total
        if now - self._last < self.interval_s and not final:
            return
        if final and self._last_iter == status.gen_iter:
            return
        self._last, self._last_iter = now, status.gen_iter
        if self.tty:
            self.stream.write("\r\033[K" + self.line(status))
        else:
            self.stream.write(self.line(status) + "\n")
        self.stream.flush()

    def on_event(self, ev) -> None:
        detail = _EVENT_DETAIL.get(ev.get("type"))
        if detail is None:
            return
        if self.tty:
            self.stream.write("\r\033[K")
        self.stream.write(f"[it {ev.get('gen_iter')}] {ev.get('type')} {detail(ev)}".rstrip() + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
