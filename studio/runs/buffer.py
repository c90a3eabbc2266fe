"""A run's metrics history: named float64 columns in one growing buffer (Qt-free).

The plots draw thinned views of it; the window's exports write it when the run folder has no
metrics.csv of its own."""

from __future__ import annotations

import numpy as np


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
