"""The events of a run on its plots: a dashed vertical line on every plot for each edit, pause,
resume, continuation and overfitting flag (labelled on the W plot), a shaded span over each pause,
and the best checkpoint's ★ line, which moves to each new best. Labels never overlap or leave the
plot (issue 18, point 7)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

from engine.config import LIVE_SYMBOLS
from studio.text import format_value
from studio.theme import PlotColours

LABEL_LEVELS = range(6)  # at most six heights of marker labels, top first


def event_label(ev: dict) -> str | None:
    """The marker text of an event, or None for events that get no marker."""
    kind = ev.get("type")
    if kind == "edit":
        key = ev.get("key", "?")
        return f"{LIVE_SYMBOLS.get(key, key)} {format_value(ev.get('old'), 4)}→{format_value(ev.get('new'), 4)}"
    return {"pause": "pause", "resume": "resume", "resume_run": "continued",
            "critic_overfitting": "critic overfitting"}.get(kind)  # "best" has its own marker, one that moves


class EventMarkers:
    """The marker lines, pause spans and best line of one run on ``plots`` (``w_plot`` carries
    the labels)."""

    def __init__(self, plots: list[pg.PlotItem], w_plot: pg.PlotItem, colours: PlotColours):
        self.plots, self.w_plot, self.colours = plots, w_plot, colours
        self.markers: list[tuple[int, str]] = []   # (gen_iter, label) of every marker drawn
        self.lines: list[tuple[pg.InfiniteLine, pg.PlotItem]] = []
        self.labelled: list[pg.InfiniteLine] = []  # the W plot's marker lines (they carry the labels)
        self.regions: list[tuple[pg.LinearRegionItem, pg.PlotItem]] = []
        self.pause_start: float | None = None
        self._open_pause: list[pg.LinearRegionItem] = []  # the spans of a pause not yet resumed
        # The best checkpoint so far: one labelled line on the W plot, moved at each new best.
        self.best_line = pg.InfiniteLine(pos=0.0, angle=90, movable=False, label="★ best",
                                         labelOpts={"position": 0.08, "anchors": [(0, 0.5), (0, 0.5)]})
        self.best_line.setVisible(False)
        w_plot.addItem(self.best_line, ignoreBounds=True)
        w_plot.sigXRangeChanged.connect(lambda *_: self.layout_labels())
        w_plot.sigYRangeChanged.connect(lambda *_: self.layout_labels())
        w_plot.vb.sigResized.connect(lambda *_: self.layout_labels())

    def clear(self) -> None:
        """No markers (another run)."""
        self.best_line.setVisible(False)
        self.best_line.label.format = "★ best"
        self.best_line.label.setText("★ best")  # nothing of the earlier run's best, even hidden
        for item, plot in self.lines + self.regions:
            plot.removeItem(item)
        self.lines.clear()
        self.labelled.clear()
        self.markers.clear()
        self.regions.clear()
        self.pause_start, self._open_pause = None, []

    def show_best(self, ev: dict) -> None:
        """Move the ★ line to a "best" event."""
        value = ev.get("value")
        text = f"★ best {value:.4g}" if isinstance(value, float | int) else "★ best"
        self.best_line.setPos(float(ev.get("gen_iter", 0)))
        self.best_line.setVisible(True)
        # Shown first, then the text: pyqtgraph's InfLineLabel ignores a new format while hidden
        # (valueChanged returns early), and a new run's first best kept the earlier run's text.
        self.best_line.label.setFormat(text)
        self.best_line.label.setText(text)
        self.best_line.setToolTip(f"The best evaluation so far ({ev.get('measure', '?')} {value}, lower is "
                                  "better), kept as checkpoints/best.pt")
        self.layout_labels()  # its label's side

    def add(self, ev: dict) -> bool:
        """The marker of event ``ev`` (and its pause span); False for events without one."""
        text = event_label(ev)
        if text is None:
            return False
        x = float(ev.get("gen_iter", 0))
        pen = pg.mkPen(self.colours.marker, width=1, style=Qt.PenStyle.DashLine)
        for p in self.plots:
            label = text if p is self.w_plot else None
            line = pg.InfiniteLine(pos=x, angle=90, movable=False, pen=pen, label=label,
                                   labelOpts={"position": 0.9, "color": self.colours.foreground,
                                              "fill": self.label_background(), "anchors": [(0, 0.5), (0, 0.5)]})
            p.addItem(line, ignoreBounds=True)
            self.lines.append((line, p))
            if label is not None:
                self.labelled.append(line)
        self.markers.append((int(x), text))
        self.layout_labels()
        if ev.get("type") == "pause":
            self._begin_pause(x)
        elif ev.get("type") == "resume":
            self.extend_pause(x, ended=True)
        return True

    def _begin_pause(self, x: float) -> None:
        self.pause_start, self._open_pause = x, []
        for p in self.plots:
            region = pg.LinearRegionItem((x, x), movable=False, brush=pg.mkBrush(self.colours.pause_brush),
                                         pen=pg.mkPen(None))
            region.setZValue(-10)
            p.addItem(region, ignoreBounds=True)
            self.regions.append((region, p))
            self._open_pause.append(region)

    def extend_pause(self, x: float, ended: bool = False) -> None:
        """A pause not yet resumed reaches ``x`` (a row arrived after it); ``ended``: it resumed there."""
        if self.pause_start is None:
            return
        for region in self._open_pause:
            region.setRegion((self.pause_start, x))
        if ended:
            self.pause_start, self._open_pause = None, []

    def label_background(self):
        c = pg.mkColor(self.colours.background)
        c.setAlpha(200)
        return c

    def set_colours(self, colours: PlotColours) -> None:
        self.colours = colours
        for item, _ in self.lines:
            label = getattr(item, "label", None)  # only the W plot's markers carry a label
            if label is not None:
                label.setColor(colours.foreground)
                label.fill = pg.mkBrush(self.label_background())
        self.best_line.setPen(pg.mkPen(colours.w1_exact, width=1))
        self.best_line.label.setColor(colours.foreground)

    def layout_labels(self) -> None:
        """Each label (the best checkpoint's too) sits right of its line, or left of it in the right
        third of the view, at the highest of :data:`LABEL_LEVELS` where it overlaps no label placed
        before it (a few pixels apart)."""
        vb = self.w_plot.vb
        (x0, x1), width_px = vb.viewRange()[0], max(vb.width(), 1.0)
        per_px = (x1 - x0) / width_px

        def right_side(label, x: float) -> bool:
            w = (label.boundingRect().width() + 6) * per_px
            right = x > x0 + 2 * (x1 - x0) / 3 and x - w >= x0
            label.setAnchor((1, 0.5) if right else (0, 0.5))
            label.anchors = [label.anchor, label.anchor]
            return right

        best = None
        if self.best_line.isVisible():  # low in the plot, below the markers' labels: only its side
            label, x = self.best_line.label, float(self.best_line.value())
            w = (label.boundingRect().width() + 6) * per_px
            best = (x - w, x) if right_side(label, x) else (x, x + w)
        if not self.labelled:
            return
        # As many heights as labels fit one above the other in the plot (at most six).
        label_h = max((ln.label.boundingRect().height() for ln in self.labelled), default=20.0) + 1
        n = int(min(len(LABEL_LEVELS), max(1, vb.height() // label_h)))
        top = 1 - 0.5 * label_h / max(vb.height(), 1.0)
        levels = [top - i * label_h / max(vb.height(), 1.0) for i in range(n)]
        taken: dict[float, list[tuple[float, float]]] = {lvl: [] for lvl in levels}
        if best is not None:  # the ★ label is taken room too, at the heights it covers (issue 35 point 9)
            best_pos = float(self.best_line.label.orthoPos)  # its height, in the units of the levels
            for lvl in levels:
                if abs(lvl - best_pos) * vb.height() < label_h:
                    taken[lvl].append(best)
        for line in sorted(self.labelled, key=lambda ln: ln.value()):
            label, x = line.label, float(line.value())
            w = (label.boundingRect().width() + 6) * per_px
            span = (x - w, x) if right_side(label, x) else (x, x + w)
            level = next((lvl for lvl in levels if all(span[1] <= a or span[0] >= b for a, b in taken[lvl])), None)
            # No free height (a short plot, many markers close together): the label is hidden, not
            # drawn over another; the dashed line stays, and the log and edit history name it.
            label.setVisible(level is not None)
            if level is not None:
                taken[level].append(span)
                label.setPosition(level)
