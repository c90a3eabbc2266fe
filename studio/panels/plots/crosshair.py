"""The crosshair: a vertical line on every plot at the iteration under the mouse, and a read-out
of every curve's value there."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel

# (label, key of PlotsPanel.value_at), in the read-out's order
READOUT = (("W_est", "w_estimate"), ("W1", "w1_exact"), ("sliced W", "sliced_w"), ("L_f", "critic_loss"),
           ("L_g", "generator_loss"), ("GP", "gradient_penalty"), ("clip", "clip_fraction"),
           ("‖∇f‖", "critic_grad_norm"), ("‖∇f(x̂)‖ median", "gp_grad_q50"), ("f train", "critic_train"),
           ("f held-out", "critic_heldout"), ("FD", "frechet_distance"), ("KID", "kid"),
           ("confident", "confident_share"), ("α_D", "lr_critic"), ("α_G", "lr_generator"))


def readout_text(values: dict) -> str:
    """"it 400   W_est 0.05   W1 0.5 ...": the finite values of ``values`` (see READOUT)."""
    bits = [f"it {int(values['gen_iter'])}"]
    for label, key in READOUT:
        v = values.get(key, np.nan)
        if np.isfinite(v):
            bits.append(f"{label} {v:.4g}")
    return "   ".join(bits)


class Crosshair:
    """The lines on ``plots`` and the ``readout`` label; ``values(x)`` gives what to read out at
    generator iteration ``x`` ({} when there is nothing)."""

    def __init__(self, plots: list[pg.PlotItem], readout: QLabel, colour, values: Callable[[float], dict]):
        self.readout, self.values = readout, values
        self.lines: list[pg.InfiniteLine] = []
        for p in plots:
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(colour, width=1))
            line.setVisible(False)
            p.addItem(line, ignoreBounds=True)
            self.lines.append(line)

    def show(self, x: float) -> str:
        """The lines at ``x`` and the read-out of the row nearest to it; the read-out's text."""
        for line in self.lines:
            line.setPos(x)
            line.setVisible(True)
        v = self.values(x)
        text = readout_text(v) if v else ""
        self.readout.setText(text)
        if text:
            self.readout.setToolTip(text.replace("   ", "<br>"))
        return text

    def hide(self) -> None:
        for line in self.lines:
            line.setVisible(False)
        self.readout.setText("")
        self.readout.setToolTip("")

    @staticmethod
    def x_under(plots: list[pg.PlotItem], pos) -> float | None:
        """The generator iteration under scene position ``pos`` in one of ``plots``, or None."""
        for p in plots:
            if p.sceneBoundingRect().contains(pos):
                x = p.vb.mapSceneToView(pos).x()
                return 10 ** x if p.ctrl.logXCheck.isChecked() else x
        return None
