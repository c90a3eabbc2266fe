"""Desktop integration and the start-up flags, without building anything (part of the main suite)."""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageChops

import resources

ROOT = Path(__file__).resolve().parents[2]


def _desktop_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def test_desktop_entry_is_complete():
    entry = _desktop_entry(resources.path("wgan-studio.desktop"))
    assert entry["Type"] == "Application" and entry["Name"] == "WGAN Studio"
    assert entry["Icon"] == "wgan-studio" and entry["Terminal"] == "false"
    assert entry["Exec"] == "wgan-studio %f" and entry["TryExec"] == "wgan-studio"
    assert entry["Categories"].endswith(";") and "Science" in entry["Categories"].split(";")


def test_png_icon_is_the_svg_rendered_at_256(tmp_path):
    png = resources.path("icons", "app.png")
    with Image.open(png) as img:
        assert img.format == "PNG" and img.size == (256, 256) and img.mode == "RGBA"
        shipped = img.convert("RGBA")
    fresh = tmp_path / "app.png"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "render_icon.py"), "--out", str(fresh),
                    "--no-platform-icons"], check=True,
                   env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, capture_output=True, timeout=120)
    with Image.open(fresh) as img:
        diff = ImageChops.difference(shipped, img.convert("RGBA")).getextrema()
    assert max(hi for _, hi in diff) <= 8, "resources/icons/app.png is stale: run scripts/render_icon.py"


def test_windows_and_macos_icons_are_the_svg_at_every_size():
    """studio.spec's .ico (Windows) and .icns (macOS .app): every size there, each the SVG drawn at
    that size (the 256 px one equal to app.png, which the test above checks against the SVG)."""
    with Image.open(resources.path("icons", "app.png")) as img:
        png = img.convert("RGBA")
    with Image.open(resources.path("icons", "app.ico")) as ico:
        assert ico.format == "ICO"
        assert sorted(ico.info["sizes"]) == [(s, s) for s in (16, 24, 32, 48, 64, 128, 256)]
        ico.size = (256, 256)
        biggest = ico.convert("RGBA")
    with Image.open(resources.path("icons", "app.icns")) as icns:
        assert icns.format == "ICNS"
        assert {w * scale for w, _, scale in icns.info["sizes"]} == {32, 64, 128, 256, 512, 1024}
        icns.size = (128, 128)  # 128 pt at 2x: the 256 px image
        icns.load(scale=2)
        mac = icns.convert("RGBA")
    for name, img in (("app.ico", biggest), ("app.icns", mac)):
        diff = ImageChops.difference(png, img).getextrema()
        assert max(hi for _, hi in diff) <= 8, f"resources/icons/{name} is stale: run scripts/render_icon.py"


@pytest.mark.linux_only("a freedesktop.org menu entry, installed by a bash script")
def test_install_desktop_entry_handles_an_odd_path(tmp_path):
    app_dir = tmp_path / 'Wgan Stüdio "dir" $HOME'
    (app_dir / "_internal").mkdir(parents=True)
    exe = app_dir / "WGANStudio"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    (app_dir / "_internal" / "resources").symlink_to(ROOT / "resources")
    data = tmp_path / "data"
    env = {**os.environ, "XDG_DATA_HOME": str(data)}
    script = ROOT / "scripts" / "install_desktop_entry.sh"
    subprocess.run(["bash", str(script), str(exe)], check=True, env=env, capture_output=True, timeout=60)

    entry = _desktop_entry(data / "applications" / "wgan-studio.desktop")
    assert (data / "icons" / "hicolor" / "256x256" / "apps" / "wgan-studio.png").is_file()
    assert entry["TryExec"] == str(exe)
    # Exec: a quoted argument inside a string value; undo both escaping levels of the spec.
    m = re.fullmatch(r'"(.*)" %f', entry["Exec"])
    assert m, entry["Exec"]
    unescaped = re.sub(r"\\(.)", r"\1", m.group(1).replace("\\\\", "\\"))
    assert unescaped == str(exe)

    subprocess.run(["bash", str(script), "--uninstall"], check=True, env=env, capture_output=True, timeout=60)
    assert not (data / "applications" / "wgan-studio.desktop").exists()


def test_quit_after_shown_reports_the_start_up_time(tmp_path):
    """``wgan-studio --quit-after-shown`` (unfrozen): the window is shown, the time is logged, exit 0."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "WGAN_STUDIO_RUNS": str(tmp_path / "runs")}
    proc = subprocess.run([sys.executable, "-m", "studio.app", "--quit-after-shown"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = re.search(r"main window shown (\d+\.\d+) s after the process started", proc.stderr)
    assert m, proc.stderr[-3000:]
    assert float(m.group(1)) > 0  # a time, not a limit: a loaded machine may take long
    if sys.platform != "linux":  # the log is in the user's own folder there (docs/guide/install.md)
        return
    log = (tmp_path / "data" / "WGAN Studio" / "WGAN Studio" / "logs" / "studio.log").read_text("utf-8")
    assert f"main window shown {m.group(1)} s" in log


def test_about_dialog_shows_the_version(qtbot, tmp_path, monkeypatch):
    import torch
    from PySide6.QtCore import QSettings

    from engine import __version__
    from studio.main_window import MainWindow

    monkeypatch.setenv("WGAN_STUDIO_RUNS", str(tmp_path / "runs"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.act_about.trigger()
    box = win.about_box
    assert box.isVisible() and box.windowTitle() == "About WGAN Studio"
    assert f"WGAN Studio {__version__}" in box.text() and f"PyTorch {torch.__version__}" in box.text()
    assert not box.iconPixmap().isNull()
    box.accept()
    win.close()
