"""The run banner: a non-modal bar above the samples and plots for what needs the user's
decision but must not block the window. Today: the losses became NaN or infinite, the engine
rolled the run back to its last good checkpoint and paused it; the banner says what happened
and offers lower learning rates, resuming as is, or dismissing it.

It shows the current run's unanswered rollback (``Run.rollback``) and keeps no copy of it: when
another run becomes current it shows that one's, or hides.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout

from engine.config import LIVE_SYMBOLS

# The per-iteration statistics that can turn non-finite (studio.runs.WATCHED), as the user knows
# them from the plots.
QUANTITIES = {"critic_loss": "critic loss L_f", "generator_loss": "generator loss L_g",
              "w_estimate": "W-estimate", "gradient_penalty": "gradient penalty",
              "critic_grad_norm": "critic gradient norm ‖∇f‖"}
LR_FACTOR = 0.1


def _num(v) -> str:
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("+inf" if v > 0 else "−inf")
    return f"{v:g}" if isinstance(v, int | float) else str(v)


def lowered(lr: float) -> float:
    """``lr × 0.1`` without binary noise (1e-4 → 1e-05, not 1.0000000000000001e-05)."""
    return float(f"{lr * LR_FACTOR:.6g}")


def nonfinite_text(event: dict, values: dict | None) -> str:
    """What happened, in one paragraph: where, which quantities, and where the run went back to.
    ``values``: the non-finite statistics of the first bad iteration ({name: value}), if known."""
    first = event.get("first_bad", "?")
    back = event.get("rolled_back_to", event.get("gen_iter", "?"))
    if values:
        what = ", ".join(f"{QUANTITIES.get(k, k)} = {_num(v)}" for k, v in values.items())
        head = f"Training diverged at generator iteration {first}: {what}."
    else:
        head = f"Training diverged at generator iteration {first}: the losses became NaN or infinite."
    lrs = ""
    if "lr_critic" in event and "lr_generator" in event:
        lrs = (f" The learning rates are back to their values then: {LIVE_SYMBOLS['lr_critic']} = "
               f"{_num(event['lr_critic'])}, {LIVE_SYMBOLS['lr_generator']} = {_num(event['lr_generator'])}.")
    return (f"{head} The run rolled back to its last good checkpoint (iteration {back}) and is paused; "
            f"nothing after it was kept.{lrs}")


class RunBanner(QFrame):
    """Hidden until the current run has a rollback to answer. Buttons emit signals; the window does
    the work (dismissing is the run's: ``Run.dismiss_rollback``)."""

    lower_and_resume = Signal()
    resume_as_is = Signal()
    dismissed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("runBanner")
        self.setProperty("level", "error")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.title = QLabel("<b>NaN / Inf: the run was rolled back</b>")
        self.title.setObjectName("runBannerTitle")
        self.message = QLabel()
        self.message.setObjectName("runBannerText")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.lower_button = QPushButton("Lower learning rates ×0.1 and resume")
        self.lower_button.setObjectName("bannerLowerLr")
        self.lower_button.setDefault(True)
        self.resume_button = QPushButton("Resume as is")
        self.resume_button.setObjectName("bannerResume")
        self.resume_button.setToolTip("Go on from the checkpoint with the same settings (the run may diverge again)")
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.setObjectName("bannerDismiss")
        self.dismiss_button.setToolTip("Hide this message; the run stays paused (Space resumes it)")
        self.lower_button.clicked.connect(self.lower_and_resume)
        self.resume_button.clicked.connect(self.resume_as_is)
        self.dismiss_button.clicked.connect(self._dismiss)

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.lower_button)
        buttons.addWidget(self.resume_button)
        buttons.addStretch(1)
        buttons.addWidget(self.dismiss_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.model = None
        self.hide()

    @property
    def _rollback(self) -> dict | None:
        return self.model.current.rollback if self.model is not None else None

    @property
    def info(self) -> dict | None:
        """The engine's "nonfinite" event shown (None: none)."""
        rb = self._rollback
        return rb["event"] if rb is not None else None

    @property
    def values(self) -> dict | None:
        """The non-finite statistics of the first bad iteration, if known."""
        rb = self._rollback
        return rb["values"] if rb is not None else None

    def show_nonfinite(self, event: dict, values: dict | None, lr_critic: float, lr_generator: float) -> None:
        """Show the rollback described by the engine's "nonfinite" ``event``; the lower-rates
        button names the values it will set."""
        self.title.setText(f"<b>NaN / Inf at iteration {event.get('first_bad', '?')}: rolled back to iteration "
                           f"{event.get('rolled_back_to', event.get('gen_iter', '?'))}</b>")
        self.message.setText(nonfinite_text(event, values))
        self.lower_button.setToolTip(
            f"Set {LIVE_SYMBOLS['lr_critic']} to {lowered(lr_critic):g} and {LIVE_SYMBOLS['lr_generator']} to "
            f"{lowered(lr_generator):g} (logged as edits and marked on the plots), then resume")
        self.show()

    def set_run_active(self, active: bool, event: dict | None = None, values: dict | None = None) -> None:
        """The resume buttons only make sense while the run's thread is alive."""
        self.lower_button.setVisible(active)
        self.resume_button.setVisible(active)
        if not active and self.isVisible() and event is not None:
            self.message.setText(nonfinite_text(event, values) + " The run has ended since: to go on "
                                 "from the checkpoint, open it (File > Open recent) and press Continue run.")

    def bind(self, model) -> None:
        """Show the rollback of ``model``'s current run (a :class:`studio.run_model.RunModel`)."""
        self.model = model
        model.run_changed.connect(self.redraw)
        model.rollback_changed.connect(lambda _rb: self.redraw())
        model.ended.connect(self.redraw)
        # Resumed from the toolbar (Space) after a rollback: the choice is made.
        model.event_added.connect(lambda ev: self.redraw() if ev.get("type") == "resume" else None)

    def redraw(self) -> None:
        run = self.model.current
        rb = run.rollback
        if rb is None:
            self.hide()
            return
        ev, hp = rb["event"], run.live_values
        self.show_nonfinite(ev, rb["values"], float(ev.get("lr_critic", hp.get("lr_critic", 0.0))),
                            float(ev.get("lr_generator", hp.get("lr_generator", 0.0))))
        self.set_run_active(run.active, ev, rb["values"])

    def _dismiss(self) -> None:
        if self.model is not None:
            self.model.current.dismiss_rollback()
        self.hide()
        self.dismissed.emit()
