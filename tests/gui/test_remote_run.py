"""A run on another machine in the studio: wgan-studio ssh://host/path shows it as a followed local
run (rows, state, the folder in the status bar), asks about an unknown host key in a dialog, says
"connection lost, retrying" while the SSH server is down and then goes on with every row once."""

from __future__ import annotations

import pytest

pytest.importorskip("sshfs")

from benchmarks.ssh_server import LocalSSHServer, RunWriter  # noqa: E402
from engine.rundir import read_metrics  # noqa: E402


@pytest.fixture
def server(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))   # the studio's ~/.ssh: this test's
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    srv = LocalSSHServer(home).start()
    yield srv
    srv.close()


def test_studio_follows_a_remote_run_through_a_lost_connection(qtbot, window, server, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    writer = RunWriter(tmp_path / "run", every=0.05, picture_every_s=0.5).start()
    try:
        assert window.open_path(server.url(writer.rd.path))
        prompter = window.remote.prompter
        qtbot.waitUntil(lambda: prompter.box is not None and prompter.box.isVisible(), timeout=30_000)
        assert server.host_key.get_fingerprint("sha256") in prompter.box.text()  # the unknown key, shown
        prompter.box.button(QMessageBox.StandardButton.Yes).click()
        model = window.model
        # the rows and the state come in separate updates of one poll: wait for both
        qtbot.waitUntil(lambda: model.current.location is not None and model.rows >= 10 and model.state == "running",
                        timeout=30_000)
        assert window.is_active()
        assert window.path_label.text().startswith("ssh://tester@127.0.0.1:")
        qtbot.waitUntil(lambda: model.samples is not None and "it/s" in window.rate_label.text()
                        and window.rate_label.text() != "– it/s", timeout=30_000)  # its pictures, speed and ETA
        assert model.samples["gen_iter"] > 0 and "ETA" in window.eta_label.text()
        assert "127.0.0.1" in (server.ssh_dir / "known_hosts").read_text()  # remembered, as ssh does
        server.kill()
        qtbot.waitUntil(lambda: model.state == "connection lost, retrying", timeout=60_000)
        assert "Connection lost" in window.state_label.text()
        server.start()
        n = writer.gen_iter
        qtbot.waitUntil(lambda: model.rows >= n + 10 and model.state == "running", timeout=60_000)
        log = window.log_panel.lines()
        assert any("connection lost" in line and "retrying" in line for line in log)
        assert any("connected again after" in line for line in log)
    finally:
        writer.stop()
    written = read_metrics(writer.rd.metrics_path)["gen_iter"]
    qtbot.waitUntil(lambda: model.rows == len(written), timeout=30_000)
    assert list(model.columns()["gen_iter"]) == written, "every row once, in order, across the lost connection"
    assert window.settings.recent_remote[0] == server.url(writer.rd.path)
    source = model.source
    window.close()  # stops following: the run is not touched (nothing was written into its folder)
    qtbot.waitUntil(lambda: not source.is_running(), timeout=30_000)
    assert not (writer.rd.path / "requests").exists()


def test_a_password_is_asked_in_a_dialog_and_a_runs_folder_can_be_listed(qtbot, window, tmp_path, monkeypatch):
    """A server that takes no key: the password is asked in a dialog (typed, never shown), and the
    run opens. The same connection lists a remote runs folder and follows a run in it."""
    from engine.follow import RunFollower
    from engine.remote import Prompter, open_remote_folder

    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    srv = LocalSSHServer(home, authorize_key=False, password="s3cret").start()
    writer = RunWriter(tmp_path / "runs" / "a", every=0.1).start()
    try:
        srv.trust()
        assert window.open_path(srv.url(writer.rd.path))
        prompter = window.remote.prompter
        qtbot.waitUntil(lambda: prompter.secret_dialog is not None and prompter.secret_dialog.isVisible(),
                        timeout=30_000)
        dialog = prompter.secret_dialog
        assert "Password" in dialog.labelText() and dialog.textEchoMode() == dialog.textEchoMode().Password
        dialog.setTextValue("s3cret")
        dialog.accept()
        qtbot.waitUntil(lambda: window.model.current.location is not None and window.model.rows >= 3, timeout=30_000)
        assert "s3cret" not in str(window.settings.q.allKeys()) + str(window.settings.recent_remote)
        class Typist(Prompter):
            interactive = True

            def secret(self, prompt):
                return "s3cret"

        runs = open_remote_folder(srv.url(tmp_path / "runs"), Typist(), srv.options())  # a Runs view's folder
        try:
            assert runs.listdir() == ["a"]
            assert RunFollower(runs.child("a")).poll().rows["gen_iter"][0] == 1
        finally:
            runs.close()
    finally:
        writer.stop()
        window.close()
        srv.close()
