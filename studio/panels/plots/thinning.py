"""What the plots draw of the metrics history: thinned views of it, never a copy.

The history is held once, by the run model (one ``ColumnBuffer``; the panel reads views of it).
A curve is drawn from a *peak envelope* of its column, built as rows arrive: bins of
``rows_per_bin`` consecutive rows, each drawn as its largest and smallest value at its first
row (pyqtgraph's "peak" downsampling, done once per row instead of on every frame). When
:data:`MAX_BINS` bins are full, neighbouring bins merge (``rows_per_bin`` doubles); the maximum of
maxima and the minimum of minima are exact, so an envelope is that of every row of the run
however long it is, in at most ``2 * MAX_BINS + 1`` points. No extreme is lost: a spike of one
iteration is still drawn.

Zoomed in (fewer than :data:`MAX_BINS` / 2 bins in view), the rows in view are drawn from the
history itself (views of the model's buffer, thinned again to at most :data:`DETAIL_ROWS` bins in
view), the envelope outside them: :func:`detail_window` says which rows.

The smoothed curves are envelopes of the exponential moving average (:class:`Smoother`), which
carries its state from batch to batch; every bin remembers the average at its last row, so the
average over any rows can be computed again exactly from the bin before them.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

MAX_BINS = 4096      # an envelope holds at most this many bins (MAX_BINS / 2 after it has thinned)
DETAIL_ROWS = 4096   # the most rows in a zoomed-in view drawn one by one (more: thinned to this many bins)


class ModelHistory:
    """The run model's metrics history as the plots read it: views of its one buffer."""

    def __init__(self, model):
        self.model = model

    @property
    def n(self) -> int:
        return self.model.rows

    def view(self, name: str) -> np.ndarray:
        return self.model.columns()[name]


class Smoother:
    """The plots' smoothing: an exponential moving average of a curve, updated incrementally
    (lfilter with carried state). Not the generator's weight average ("EMA", [model] ema_decay)."""

    def __init__(self, weight: float):
        self.weight = weight
        self.last = None

    def run(self, x: np.ndarray) -> np.ndarray:
        a = self.weight
        if len(x) == 0:
            return x
        if a <= 0:
            self.last = float(x[-1])
            return x.copy()
        start = self.last if self.last is not None and np.isfinite(self.last) else float(x[0])
        y, _ = lfilter([1 - a], [1, -a], x, zi=[a * start])
        self.last = float(y[-1])
        return y


def peak_points(x: np.ndarray, y: np.ndarray, rows_per_bin: int) -> tuple[np.ndarray, np.ndarray]:
    """``x, y`` thinned to the largest and smallest ``y`` of every ``rows_per_bin`` rows (at the
    bin's first ``x``), the last row kept as it is; ``x, y`` themselves when ``rows_per_bin`` is 1."""
    if rows_per_bin <= 1 or len(x) <= 2 * rows_per_bin:
        return x, y
    m = len(x) // rows_per_bin
    whole = y[:m * rows_per_bin].reshape(m, rows_per_bin)
    px = np.repeat(x[:m * rows_per_bin:rows_per_bin], 2)
    py = np.empty(2 * m)
    py[0::2] = np.fmax.reduce(whole, axis=1)
    py[1::2] = np.fmin.reduce(whole, axis=1)
    tail_x, tail_y = x[m * rows_per_bin:], y[m * rows_per_bin:]
    if len(tail_x):
        px = np.concatenate((px, [tail_x[0], tail_x[0], x[-1]]))
        py = np.concatenate((py, [np.fmax.reduce(tail_y), np.fmin.reduce(tail_y), y[-1]]))
    return px, py


class Envelope:
    """The peak envelope of one curve, built as its rows arrive (see the module doc)."""

    FIELDS = ("x", "hi", "lo", "end_x", "end_y")

    def __init__(self, max_bins: int = MAX_BINS):
        if max_bins < 2 or max_bins % 2:
            raise ValueError("max_bins must be even and at least 2")
        self.max_bins = max_bins
        self._bins = {k: np.empty(max_bins) for k in self.FIELDS}
        self.clear()

    def clear(self) -> None:
        self.rows_per_bin = 1
        self.n_bins = 0          # closed bins
        self.rows = 0            # rows seen
        self._open = None        # the bin being filled: [count, x, hi, lo, end_x, end_y]

    def bins(self, name: str) -> np.ndarray:
        """One field of the closed bins: x (first row), hi, lo, end_x and end_y (last row)."""
        return self._bins[name][:self.n_bins]

    def extend(self, x: np.ndarray, y: np.ndarray) -> None:
        """Rows ``x`` (increasing, after every row so far) with values ``y``."""
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        n, i = len(x), 0
        self.rows += n
        while i < n:
            if self._open is not None or n - i < self.rows_per_bin:
                i = self._fill_open(x, y, i)
            else:
                i = self._close_whole(x, y, i)

    def _fill_open(self, x: np.ndarray, y: np.ndarray, i: int) -> int:
        """Rows from ``i`` into the open bin (a new one if none is open); the index after them."""
        if self._open is None:
            self._open = [0, x[i], np.nan, np.nan, x[i], y[i]]
        b = self._open
        take = min(self.rows_per_bin - b[0], len(x) - i)
        part = y[i:i + take]
        b[0] += take
        b[2] = np.fmax(b[2], np.fmax.reduce(part))
        b[3] = np.fmin(b[3], np.fmin.reduce(part))
        b[4], b[5] = x[i + take - 1], y[i + take - 1]
        if b[0] == self.rows_per_bin:
            self._open = None
            self._append(*(np.array([v]) for v in b[1:]))
        return i + take

    def _close_whole(self, x: np.ndarray, y: np.ndarray, i: int) -> int:
        """As many whole bins from row ``i`` as fit before the bins merge; the index after them."""
        r = self.rows_per_bin
        m = min((len(x) - i) // r, self.max_bins - self.n_bins)
        end = i + m * r
        whole = y[i:end].reshape(m, r)
        self._append(x[i:end:r], np.fmax.reduce(whole, axis=1), np.fmin.reduce(whole, axis=1),
                     x[i + r - 1:end:r], y[i + r - 1:end:r])
        return end

    def _append(self, *fields: np.ndarray) -> None:
        n, m = self.n_bins, len(fields[0])
        for name, values in zip(self.FIELDS, fields, strict=True):
            self._bins[name][n:n + m] = values
        self.n_bins = n + m
        if self.n_bins == self.max_bins:
            self._merge()

    def _merge(self) -> None:
        """Every two neighbouring bins become one (the open bin is empty when this runs)."""
        h = self.n_bins // 2
        b = self._bins
        for name, pick in (("x", 0), ("end_x", 1), ("end_y", 1)):
            b[name][:h] = b[name][pick:2 * h:2]
        b["hi"][:h] = np.fmax(b["hi"][0:2 * h:2], b["hi"][1:2 * h:2])
        b["lo"][:h] = np.fmin(b["lo"][0:2 * h:2], b["lo"][1:2 * h:2])
        self.n_bins = h
        self.rows_per_bin *= 2

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """The curve to draw: one point a row while every bin is one row, else each bin's
        maximum then minimum at its first row, and the last row itself."""
        open_ = self._open
        if self.rows_per_bin == 1:
            return self.bins("x").copy(), self.bins("hi").copy()
        n = self.n_bins + (open_ is not None)
        x, y = np.empty(2 * n + 1), np.empty(2 * n + 1)
        x[0:2 * self.n_bins:2] = x[1:2 * self.n_bins:2] = self.bins("x")
        y[0:2 * self.n_bins:2], y[1:2 * self.n_bins:2] = self.bins("hi"), self.bins("lo")
        if open_ is not None:
            x[-3] = x[-2] = open_[1]
            y[-3], y[-2] = open_[2], open_[3]
        last_x, last_y = (open_[4], open_[5]) if open_ is not None else (self.bins("end_x")[-1],
                                                                          self.bins("end_y")[-1])
        x[-1], y[-1] = last_x, last_y
        return x, y

    def restart_before(self, x0: float) -> tuple[float, float] | None:
        """(x, value) of the last row of the last closed bin that ends before ``x0``, or None."""
        j = int(np.searchsorted(self.bins("end_x"), x0, side="left")) - 1
        if j < 0:
            return None
        return float(self.bins("end_x")[j]), float(self.bins("end_y")[j])


def detail_window(x: np.ndarray, view: tuple[float, float], rows_per_bin: int) -> tuple[int, int, int] | None:
    """What to draw from the history itself for the x range ``view`` of history ``x`` (gen_iter,
    increasing): ``(i0, i1, step)``, the rows ``[i0, i1)`` thinned to bins of ``step`` rows, at
    most :data:`DETAIL_ROWS` bins in view. The rows are those of the view widened to whole
    multiples of a step of about an eighth of its span and by one such step each side, so that
    panning a little keeps the same rows. None when the envelope shows the view as densely as
    it shows the whole run (MAX_BINS / 2 bins or more in view) or the view holds every row."""
    n = len(x)
    lo, hi = float(view[0]), float(view[1])
    span = hi - lo
    if n < 2 or rows_per_bin <= 1 or not (math.isfinite(span) and span > 0):
        return None
    in_view = int(np.searchsorted(x, hi, side="right") - np.searchsorted(x, lo, side="left"))
    if in_view >= n or in_view / rows_per_bin >= MAX_BINS / 2:
        return None
    q = 2.0 ** math.floor(math.log2(span)) / 8
    a, b = (math.floor(lo / q) - 1) * q, (math.ceil(hi / q) + 1) * q
    i0 = int(np.searchsorted(x, a, side="left"))
    i1 = int(np.searchsorted(x, b, side="right"))
    if i1 <= i0:
        return None
    return i0, i1, max(1, -(-in_view // DETAIL_ROWS))


def merge_detail(envelope: tuple[np.ndarray, np.ndarray], detail: tuple[np.ndarray, np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The envelope's points left and right of the detailed rows, and those rows between them."""
    ex, ey = envelope
    dx, dy = detail
    if not len(dx):
        return ex, ey
    left = ex < dx[0]
    right = ex > dx[-1]
    return np.concatenate((ex[left], dx, ex[right])), np.concatenate((ey[left], dy, ey[right]))


class ThinnedCurves:
    """The envelope of every curve the plots draw as a line, fed with each batch of rows:
    ``raw`` curves (curve name -> column) as they are, the ``smoothed`` columns through a
    :class:`Smoother` of weight ``weight`` (each such curve is named after its column)."""

    def __init__(self, raw: dict[str, str], smoothed: tuple[str, ...], weight: float):
        self.raw, self.smoothed = dict(raw), tuple(smoothed)
        self.envelopes = {name: Envelope() for name in (*self.raw, *self.smoothed)}
        self.set_weight(weight)

    @property
    def rows_per_bin(self) -> int:
        return next(iter(self.envelopes.values())).rows_per_bin

    def set_weight(self, weight: float) -> None:
        """Another smoothing weight: the smoothed envelopes start over (feed them the history again)."""
        self.weight = weight
        self.smoothers = {c: Smoother(weight) for c in self.smoothed}
        self.clear()

    def clear(self) -> None:
        for e in self.envelopes.values():
            e.clear()
        for s in self.smoothers.values():
            s.last = None

    def extend(self, cols) -> None:
        """A batch of rows, ``{column: values}`` with ``gen_iter``; a column it lacks counts as NaN."""
        x = np.asarray(cols["gen_iter"], dtype=np.float64)

        def column(name):
            y = cols.get(name)
            return np.full(len(x), np.nan) if y is None else np.asarray(y, dtype=np.float64)

        for curve, name in self.raw.items():
            self.envelopes[curve].extend(x, column(name))
        for name in self.smoothed:
            self.envelopes[name].extend(x, self.smoothers[name].run(column(name)))

    def points(self, curve: str, history, window: tuple[int, int, int] | None) -> tuple[np.ndarray, np.ndarray]:
        """What to draw of ``curve``: its envelope, with the rows of ``window`` (see
        :func:`detail_window`) from ``history`` (``{column: view}``) in place of their bins."""
        envelope = self.envelopes[curve].points()
        if window is None:
            return envelope
        i0, i1, step = window
        x = history["gen_iter"][i0:i1]
        if curve in self.raw:
            y = history.get(self.raw[curve])
            y = np.full(len(x), np.nan) if y is None else y[i0:i1]
        else:
            y = self.smoothed_rows(curve, history, i0, i1)
        return merge_detail(envelope, peak_points(x, y, step))

    def smoothed_rows(self, column: str, history, i0: int, i1: int) -> np.ndarray:
        """The moving average of ``column`` over the history's rows ``[i0, i1)``, computed again
        from the last bin that ends before them (the start of the history if none)."""
        x, y = history["gen_iter"], history.get(column)
        if y is None:
            return np.full(i1 - i0, np.nan)
        smoother = Smoother(self.weight)
        start, restart = 0, self.envelopes[column].restart_before(float(x[i0]))
        if restart is not None:
            start = int(np.searchsorted(x, restart[0], side="right"))
            smoother.last = restart[1]
        return smoother.run(np.asarray(y[start:i1], dtype=np.float64))[i0 - start:]
