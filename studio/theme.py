"""Light and dark themes that follow the system (Qt >= 6.5 reports the colour scheme).

One visual language everywhere: real data warm (orange), generated cool (teal), the
critic's value a diverging colour map centred on 0. Those colours come from the engine's
renderer so that exported pictures and the live view agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from engine.render import FAKE_RGB, REAL_RGB

REAL = REAL_RGB
FAKE = FAKE_RGB


@dataclass(frozen=True)
class PlotColours:
    background: str
    foreground: str
    grid_alpha: float
    w_raw: tuple
    w_smooth: tuple
    w1_exact: tuple
    critic: tuple
    generator: tuple
    penalty: tuple
    grad_norm: tuple
    lr_critic: tuple
    lr_generator: tuple
    marker: tuple
    pause_brush: tuple
    fd: tuple           # the image Fréchet distance (evaluations)
    confident: tuple    # the digit classifier's confident share (evaluations)


LIGHT = PlotColours("#ffffff", "#303030", 0.25, (80, 110, 200, 90), (40, 70, 180), REAL, (200, 60, 60),
                    FAKE, (140, 80, 180), (90, 90, 90), (200, 60, 60), FAKE, (120, 120, 120), (0, 0, 0, 22),
                    (46, 140, 60), (170, 120, 0))
DARK = PlotColours("#1e1f22", "#d0d0d0", 0.2, (120, 150, 255, 90), (140, 170, 255), REAL, (255, 110, 110),
                   FAKE, (190, 140, 240), (190, 190, 190), (255, 110, 110), FAKE, (170, 170, 170),
                   (255, 255, 255, 22), (110, 205, 110), (235, 195, 70))


def resource_path(*parts: str) -> Path:
    """A file under the ``resources`` package (works from a checkout, a wheel or PyInstaller)."""
    return Path(str(files("resources").joinpath(*parts)))


def icon(name: str) -> QIcon:
    p = resource_path("icons", f"{name}.svg")
    return QIcon(str(p)) if p.is_file() else QIcon()


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is not None:
        return scheme() == Qt.ColorScheme.Dark
    # Older Qt: guess from the window colour of the default palette.
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def resolve_dark(theme: str) -> bool:
    if theme == "dark":
        return True
    if theme == "light":
        return False
    return system_prefers_dark()


def _dark_palette() -> QPalette:
    p = QPalette()
    window, base, text = QColor(43, 45, 48), QColor(30, 31, 34), QColor(220, 220, 220)
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        p.setColor(group, QPalette.ColorRole.Window, window)
        p.setColor(group, QPalette.ColorRole.WindowText, text)
        p.setColor(group, QPalette.ColorRole.Base, base)
        p.setColor(group, QPalette.ColorRole.AlternateBase, window)
        p.setColor(group, QPalette.ColorRole.ToolTipBase, QColor(60, 63, 65))
        p.setColor(group, QPalette.ColorRole.ToolTipText, text)
        p.setColor(group, QPalette.ColorRole.Text, text)
        p.setColor(group, QPalette.ColorRole.Button, window)
        p.setColor(group, QPalette.ColorRole.ButtonText, text)
        p.setColor(group, QPalette.ColorRole.BrightText, QColor(255, 80, 80))
        p.setColor(group, QPalette.ColorRole.Link, QColor(121, 184, 255))  # 8:1 on the dark window
        p.setColor(group, QPalette.ColorRole.Highlight, QColor(38, 110, 200))
        p.setColor(group, QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
        p.setColor(group, QPalette.ColorRole.PlaceholderText, QColor(140, 140, 140))
    dis = QPalette.ColorGroup.Disabled
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(dis, role, QColor(120, 120, 120))
    p.setColor(dis, QPalette.ColorRole.Base, QColor(38, 39, 42))
    p.setColor(dis, QPalette.ColorRole.Window, window)
    p.setColor(dis, QPalette.ColorRole.Button, window)
    return p


def _light_palette() -> QPalette:
    # Fusion's own palette is a good light theme; take it fresh so a switch from dark resets it.
    app = QApplication.instance()
    return app.style().standardPalette() if app is not None else QPalette()


def apply_theme(app: QApplication, dark: bool) -> None:
    """Fusion + palette + the matching style sheet. Fusion renders the same on every platform,
    which is what lets one style sheet per theme work everywhere.

    Does nothing when that theme is already applied: each call re-polishes every widget of
    every window (a new window applying the theme it found took 1-3 s with a few others open)."""
    key = "dark" if dark else "light"
    if app.property("wgan_studio_theme") == key:
        return
    app.setStyle("Fusion")
    app.setPalette(_dark_palette() if dark else _light_palette())
    qss = resource_path("style-dark.qss" if dark else "style-light.qss")
    app.setStyleSheet(qss.read_text("utf-8") if qss.is_file() else "")
    app.setProperty("wgan_studio_theme", key)


def plot_colours(dark: bool) -> PlotColours:
    return DARK if dark else LIGHT
