"""The column of plots: which plots it shows, and how tall each one is (issue 35 point 2).

Six to nine plots shared about 330 px at the window's default size (15-25 px of data each, tick
labels over each other). Now:
- each plot shown keeps a data area of at least :data:`MIN_DATA_PX`; the column scrolls below
  that, so the rest is one scroll away;
- the user picks the plots shown (the "Plots" menu of the panel's top bar), remembered for each
  kind of run (a toy run's plots and an image run's differ), in the window's settings;
- a plot shows only where it means something for the run (its objective's traits, the kind of
  run): the panel says which (:meth:`PlotColumn.arrange`);
- the bottom plot shown carries the x axis' tick values and title.
"""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtWidgets import QMenu, QToolButton

MIN_DATA_PX = 90        # the least height of a plot's data area (below it the column scrolls)
TITLE_PX = 32           # a plot's title row (9 pt) and the gaps around it
BOTTOM_PX = 6           # a bottom axis without values
AXIS_PX = 42            # the bottom plot's axis: tick values and the title "generator iteration"
ROW_GAP_PX = 6          # at most this between two plots (pyqtgraph's layout spacing)
KINDS = ("toy", "image")


class PlotColumn:
    """The plots of ``glw`` (a GraphicsLayoutWidget), one per row in ``order`` (name -> plot), and
    the menu that shows or hides them. ``always``: names the user cannot hide (the W plot)."""

    def __init__(self, glw: pg.GraphicsLayoutWidget, order: dict[str, tuple[pg.PlotItem, str]],
                 always: tuple[str, ...] = ("w",), on_change: Callable[[], None] | None = None):
        self.glw, self.order, self.always = glw, order, always
        self.hidden: dict[str, set[str]] = {k: set() for k in KINDS}
        self.kind = "toy"
        self.relevant: dict[str, bool] = {name: True for name in order}
        self.on_change = on_change
        self.menu = QMenu()
        self.actions = {}
        for name, (_, title) in order.items():
            a = self.menu.addAction(title)
            a.setCheckable(True)
            a.setChecked(True)
            a.setEnabled(name not in always)
            a.toggled.connect(lambda on, n=name: self.set_shown(n, on))
            self.actions[name] = a
        self.button = QToolButton()
        self.button.setText("Plots")
        self.button.setToolTip("Which plots to show (remembered for toy runs and image runs apart)")
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.button.setMenu(self.menu)

    # ------------------------------------------------------------------ the user's choice
    def set_shown(self, name: str, on: bool) -> None:
        """Show or hide plot ``name`` for runs of the current kind."""
        if name in self.always or on == (name not in self.hidden[self.kind]):
            return
        (self.hidden[self.kind].discard if on else self.hidden[self.kind].add)(name)
        self.arrange(self.relevant, self.kind)
        if self.on_change is not None:
            self.on_change()

    def set_hidden(self, kind: str, names) -> None:
        """The plots hidden for ``kind`` (saved settings; unknown names are ignored)."""
        self.hidden[kind] = {n for n in names if n in self.order and n not in self.always}
        if kind == self.kind:
            self.arrange(self.relevant, self.kind)

    def shown_names(self) -> list[str]:
        return [n for n in self.order if self.relevant.get(n, True) and n not in self.hidden[self.kind]]

    # ------------------------------------------------------------------ layout
    def arrange(self, relevant: dict[str, bool], kind: str) -> None:
        """Show the plots that are relevant (name -> bool; missing: relevant) and not hidden for ``kind``."""
        self.relevant = {n: relevant.get(n, True) for n in self.order}
        self.kind = kind if kind in KINDS else "toy"
        shown = set(self.shown_names())
        layout = self.glw.ci
        for row, (name, (plot, _)) in enumerate(self.order.items()):
            on = name in shown
            if on != (plot.scene() is not None):
                if on:
                    layout.addItem(plot, row=row, col=0)
                else:
                    layout.removeItem(plot)
            layout.layout.setRowStretchFactor(row, (3 if name == "w" else 2) if on else 0)
        for name, a in self.actions.items():
            a.blockSignals(True)
            a.setChecked(name not in self.hidden[self.kind])
            a.setEnabled(self.relevant[name] and name not in self.always)
            a.blockSignals(False)
        self._axes_and_heights([n for n in self.order if n in shown])

    def _axes_and_heights(self, shown: list[str]) -> None:
        """Tick values under the bottom plot only; a minimum height for each row shown."""
        layout = self.glw.ci.layout
        total = 0
        for row, (name, (plot, _)) in enumerate(self.order.items()):
            last = bool(shown) and name == shown[-1]
            axis = plot.getAxis("bottom")
            if last != axis.style["showValues"]:
                axis.setStyle(showValues=last)
                axis.setLabel("generator iteration" if last else None)
                axis.showLabel(last)
                axis.setHeight(None if last else BOTTOM_PX)
            least = (MIN_DATA_PX + TITLE_PX + (AXIS_PX if last else BOTTOM_PX)) if name in shown else 0
            layout.setRowMinimumHeight(row, least)
            total += least
        # Not layout.verticalSpacing(): asked before the view is shown, Qt 6 keeps a style
        # info that crashes the next layout pass (QGridLayoutEngine::fillRowData).
        self.glw.setMinimumHeight(int(total + ROW_GAP_PX * max(len(shown) - 1, 0) + 12))
