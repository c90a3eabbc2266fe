"""The distance lab's form: which critics, the θ sweep, the critics' settings, Run and Stop, the
progress and the status line."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine import distance as lab
from engine.objectives import traits
from engine.status import RunState
from studio.widgets import button

EXPLANATION = ("<b>Example 1</b> (WGAN paper, §2): P<sub>0</sub> = (0, Z), P<sub>θ</sub> = (θ, Z), Z ~ U[0, 1]: "
               "two parallel segments θ apart. W = |θ| shrinks with θ; JS, KL and TV stay flat until θ = 0.")

# The lab's critics (engine.distance.LAB_OBJECTIVES), as the form explains them.
OBJECTIVE_TIPS = {
    "wgan-gp": "<b>wgan-gp</b>: a critic trained with the gradient penalty (Gulrajani et al.), weight λ. "
               "It is close to 1-Lipschitz, so its estimate mean f(P<sub>0</sub>) − mean f(P<sub>θ</sub>) "
               "lies on the W = |θ| line.",
    "wgan-clip": "<b>wgan-clip</b>: a critic whose weights are clipped to [−c, c] (WGAN paper, Algorithm 1). "
                 "It is K-Lipschitz for an unknown K set by c and the architecture, so its estimate is "
                 "K·|θ| (\"up to a constant\"): drawn ×1/K, with the fitted K in the legend.",
    "gan": "<b>gan</b>: the original GAN's discriminator. Its value V gives the Jensen–Shannon estimate "
           "(V + log 4)/2 (Goodfellow et al., Theorem 1), which saturates at log 2 as soon as θ ≠ 0: "
           "a flat loss, no gradient towards θ = 0.",
}


def double_spin(lo, hi, value, step, decimals, tip) -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setRange(lo, hi)
    s.setDecimals(decimals)
    s.setSingleStep(step)
    s.setValue(value)
    s.setToolTip(tip)
    return s


class SweepForm(QWidget):
    """The controls above the lab's plots. ``on_run`` / ``on_stop``: what Run and Stop do."""

    objectives_changed = Signal()   # a critic was chosen or left out
    range_changed = Signal()        # the θ range's ends changed

    def __init__(self, on_run: Callable, on_stop: Callable, parent: QWidget | None = None):
        super().__init__(parent)
        d = lab.LabSettings()
        self.explanation = QLabel(EXPLANATION)
        self.explanation.setWordWrap(True)
        self.explanation.setTextFormat(Qt.TextFormat.RichText)
        self.explanation.setToolTip(
            "The closed forms (engine/distance.py): W(P<sub>0</sub>, P<sub>θ</sub>) = |θ|; JS = log 2, KL = +∞, "
            "TV = 1 for θ ≠ 0, all 0 at θ = 0. Only W changes with θ, so only W tells a generator which way "
            "to move. Each point is a critic trained from scratch at that θ.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.explanation)
        layout.addLayout(self._build_sweep_row())
        layout.addLayout(self._build_settings_row(d, on_run, on_stop))
        self.status = QLabel("Idle: choose the critics and the θ range, then Run.")
        self.status.setObjectName("distanceStatus")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # A long status must not widen the window (cut instead; the tooltip has it all).
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.status)

    def _build_sweep_row(self) -> QHBoxLayout:
        self.objective_checks: dict[str, QCheckBox] = {}
        row = QHBoxLayout()
        row.setSpacing(6)
        row.addWidget(QLabel("Critics:"))
        for name in lab.LAB_OBJECTIVES:
            cb = QCheckBox(name)
            cb.setChecked(True)
            cb.setToolTip(OBJECTIVE_TIPS[name])
            cb.toggled.connect(self.objectives_changed)
            self.objective_checks[name] = cb
            row.addWidget(cb)
        row.addSpacing(12)
        self.theta_from = double_spin(-10, 10, -2.0, 0.5, 2, "The first θ of the sweep. θ is the offset of the "
                                      "second segment: P<sub>θ</sub> = (θ, Z)")
        self.theta_to = double_spin(-10, 10, 2.0, 0.5, 2, "The last θ of the sweep (θ: P<sub>θ</sub> = (θ, Z))")
        self.theta_count = QSpinBox()
        self.theta_count.setRange(1, 201)
        self.theta_count.setValue(17)
        self.theta_count.setToolTip("How many values of θ, evenly spaced (an odd count includes θ = 0 on a "
                                    "symmetric range)")
        for w in (self.theta_from, self.theta_to):
            w.valueChanged.connect(self.range_changed)
        for w in (QLabel("θ from"), self.theta_from, QLabel("to"), self.theta_to, QLabel("points"),
                  self.theta_count):
            row.addWidget(w)
        row.addStretch(1)
        return row

    def _build_settings_row(self, d: lab.LabSettings, on_run: Callable, on_stop: Callable) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(6)
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 1_000_000)
        self.steps_spin.setSingleStep(50)
        self.steps_spin.setValue(d.steps)
        self.steps_spin.setToolTip(f"Critic steps at each θ (a fresh critic for every θ and objective; "
                                   f"default {d.steps}). The estimate is taken after the last step.")
        self.lambda_spin = double_spin(0, 1000, d.gp_lambda, 5, 1,
                                       f"λ, the gradient-penalty weight (wgan-gp). The lab's default is "
                                       f"{d.gp_lambda:g}, not the paper's 10: the penalty biases the estimate "
                                       f"to |θ|(1 + |θ|/(2λ)), +10% at θ = 2 with λ = 10.")
        self.clip_spin = double_spin(0.0001, 10, d.clip_value, 0.005, 4,
                                     f"c, the clipping value (wgan-clip): every critic weight is clamped to "
                                     f"[−c, c] (WGAN paper: c = {d.clip_value:g}). The estimate scales with "
                                     f"the Lipschitz constant K that c allows.")
        row.addWidget(QLabel("critic steps"))
        row.addWidget(self.steps_spin)
        self.lambda_label = QLabel("λ")
        self.clip_label = QLabel("c")
        for lbl, spin in ((self.lambda_label, self.lambda_spin), (self.clip_label, self.clip_spin)):
            lbl.setToolTip(spin.toolTip())
            row.addWidget(lbl)
            row.addWidget(spin)
        row.addSpacing(12)
        self.run_action = QAction("Run sweep", self)
        self.run_action.setToolTip("Train a critic at every θ for each chosen objective and draw the results "
                                   "as they arrive")
        self.run_action.triggered.connect(on_run)
        self.stop_action = QAction("Stop sweep", self)
        self.stop_action.setToolTip("Stop the sweep (within 50 critic steps); the results so far stay")
        self.stop_action.triggered.connect(on_stop)
        self.run_button = button("Run", self.run_action.toolTip(), on_run)
        self.stop_button = button("Stop", self.stop_action.toolTip(), on_stop)
        row.addWidget(self.run_button)
        row.addWidget(self.stop_button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.progress.setMinimumWidth(90)
        self.progress.setMaximumWidth(180)
        self.progress.setToolTip("Critic steps done of the whole sweep, and the time left (ETA)")
        row.addWidget(self.progress)
        row.addStretch(1)
        return row

    # ------------------------------------------------------------------ what it says
    def selected_objectives(self) -> list[str]:
        return [o for o in lab.LAB_OBJECTIVES if self.objective_checks[o].isChecked()]

    def theta_range(self) -> tuple[float, float]:
        a, b = self.theta_from.value(), self.theta_to.value()
        return (a, b) if a <= b else (b, a)

    def thetas(self) -> list[float]:
        return lab.even_thetas(self.theta_from.value(), self.theta_to.value(), self.theta_count.value())

    def settings(self, overrides: dict) -> lab.LabSettings:
        """The lab settings of the form and ``overrides`` (objective set per sweep by the worker).
        Raises ValueError."""
        fields = dict(steps=self.steps_spin.value(), gp_lambda=self.lambda_spin.value(),
                      clip_value=self.clip_spin.value())
        fields.update(overrides)
        return lab.LabSettings(**fields)

    # ------------------------------------------------------------------ what it shows
    def set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)
        self.status.setStyleSheet("color: #d62728;" if error else "")

    def update_controls(self, state: RunState) -> None:
        """What can be changed and clicked while the sweep is in ``state`` (idle, running, stopping);
        λ and c only when a chosen critic uses them (its objective's traits)."""
        idle = state == RunState.IDLE
        objectives = [traits(o) for o in self.selected_objectives()]
        for w in (*self.objective_checks.values(), self.theta_from, self.theta_to, self.theta_count,
                  self.steps_spin):
            w.setEnabled(idle)
        for lbl, spin, used in ((self.lambda_label, self.lambda_spin, any(t.uses_penalty for t in objectives)),
                                (self.clip_label, self.clip_spin, any(t.clips_weights for t in objectives))):
            lbl.setEnabled(idle and used)
            spin.setEnabled(idle and used)
        can_run = idle and bool(objectives)
        self.run_button.setEnabled(can_run)
        self.run_action.setEnabled(can_run)
        running = state == RunState.RUNNING
        self.stop_button.setEnabled(running)
        self.stop_action.setEnabled(running)
