"""Issue 18: the studio tried as a new user would. One test (or a few) per numbered point."""

from __future__ import annotations

from PIL import Image

from tests.helpers import tiny_config

from .helpers import use, wait_state


# ---------------------------------------------------------------------- 1. export name = content
def test_export_grid_writes_the_iteration_its_name_says(qtbot, window):
    """The dialog's file name and the written picture come from the same copy of the generator,
    however many iterations the run trains while the dialog stays open."""
    use(window, tiny_config(live=True))
    window.start()
    wait_state(qtbot, window, "running")
    qtbot.waitUntil(lambda: window.trainer is not None and window.trainer.gen_iter > 2, timeout=60_000)
    window.export_grid_dialog()
    qtbot.waitUntil(lambda: window.export_dialog is not None, timeout=60_000)
    dlg = window.export_dialog
    name = dlg.path.text()
    named_it = int(name.rsplit("samples-iter", 1)[1][:7])
    qtbot.waitUntil(lambda: window.trainer.gen_iter > named_it + 5, timeout=60_000)  # the user dawdles
    dlg.size.setValue(64)
    with qtbot.waitSignal(window.export_finished, timeout=60_000) as done:
        dlg.accept()
    assert done.args == [name]
    with Image.open(name) as img:
        assert img.text["gen_iter"] == str(named_it)
    window.stop()
    qtbot.waitUntil(lambda: not window.is_active(), timeout=60_000)
