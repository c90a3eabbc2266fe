"""The dialogs of a run on another machine: File > Open remote run (host and path, the recent
ones offered), and the questions an SSH connection asks (an unknown host's key with its
fingerprint; a passphrase or a password). The questions come from the follower's thread and are
answered on the GUI thread (:class:`GuiPrompter`); the dialogs never block the window (``open``,
not ``exec``)."""

from __future__ import annotations

import queue

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QWidget,
)

from engine.remote import Prompter, parse_location
from engine.remote.ssh import host_key_question


class GuiPrompter(QObject, Prompter):
    """An SSH connection's questions as dialogs: asked from a worker thread (which waits for the
    answer), shown on the GUI thread this object lives in. Answers are never stored here."""

    interactive = True
    host_key_asked = Signal(object)   # ((host, port, key_type, fingerprint), answer queue)
    secret_asked = Signal(object)     # (prompt, answer queue)

    def __init__(self, parent: QWidget | None = None):
        QObject.__init__(self, parent)
        self.parent_widget = parent
        self.box: QMessageBox | None = None
        self.secret_dialog: QInputDialog | None = None
        self.host_key_asked.connect(self._show_host_key)
        self.secret_asked.connect(self._show_secret)

    def _wait(self, signal, payload):
        if QThread.currentThread() is self.thread():
            raise RuntimeError("an SSH question must be asked from the follower's thread, not the GUI thread")
        answer: queue.Queue = queue.Queue()
        signal.emit((payload, answer))
        return answer.get()

    def confirm_host_key(self, host: str, port: int, key_type: str, fingerprint: str) -> bool:
        return bool(self._wait(self.host_key_asked, (host, port, key_type, fingerprint)))

    def secret(self, prompt: str) -> str | None:
        return self._wait(self.secret_asked, prompt)

    @Slot(object)
    def _show_host_key(self, item) -> None:
        (host, port, key_type, fingerprint), answer = item
        box = QMessageBox(QMessageBox.Icon.Question, "Unknown host key",
                          host_key_question(host, port, key_type, fingerprint)
                          + "\n\nTrust this key and remember it in your known_hosts file?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self.parent_widget)
        box.setObjectName("hostKeyDialog")
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.finished.connect(lambda _r: answer.put(box.clickedButton() is box.button(QMessageBox.StandardButton.Yes)))
        self.box = box
        box.open()

    @Slot(object)
    def _show_secret(self, item) -> None:
        prompt, answer = item
        dlg = QInputDialog(self.parent_widget)
        dlg.setObjectName("secretDialog")
        dlg.setWindowTitle("SSH login")
        dlg.setLabelText(prompt)
        dlg.setTextEchoMode(QLineEdit.EchoMode.Password)
        dlg.finished.connect(lambda r: answer.put(dlg.textValue() if r == QDialog.DialogCode.Accepted else None))
        self.secret_dialog = dlg
        dlg.open()


class RemoteRunDialog(QDialog):
    """Host (``[user@]host[:port]``, a ~/.ssh/config alias too) and the run folder's path on it;
    the recent remote runs fill both."""

    def __init__(self, recent: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("remoteRunDialog")
        self.setWindowTitle("Open remote run")
        form = QFormLayout(self)
        self.recent = QComboBox()
        self.recent.addItems(["—"] + list(recent))
        self.recent.setEnabled(bool(recent))
        self.recent.currentIndexChanged.connect(self._fill)
        self.host = QLineEdit()
        self.host.setPlaceholderText("user@gpu-server:22, or a Host of ~/.ssh/config")
        self.path = QLineEdit()
        self.path.setPlaceholderText("/home/me/runs/run-1 (or ~/runs/run-1)")
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        form.addRow("Recent", self.recent)
        form.addRow("Host", self.host)
        form.addRow("Run folder", self.path)
        form.addRow(self.problem)
        form.addRow(QLabel("Keys from ssh-agent and ~/.ssh are used; a passphrase or password is asked, never "
                           "stored. The run keeps training on its machine when this window closes."))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        if recent:
            self.recent.setCurrentIndex(1)

    def _fill(self, index: int) -> None:
        if index <= 0:
            return
        loc = parse_location(self.recent.itemText(index))
        self.host.setText(loc.where)
        self.path.setText(loc.path if loc.path.startswith("/") else f"~/{loc.path}")

    def url(self) -> str:
        path = self.path.text().strip()
        if path.startswith("~"):
            path = "/" + path
        elif not path.startswith("/"):
            path = "/~/" + path
        return f"ssh://{self.host.text().strip()}{path}"

    def _accept(self) -> None:
        try:
            parse_location(self.url())
        except ValueError as e:
            self.problem.setText(str(e))
            return
        self.accept()
