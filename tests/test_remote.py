"""A run on another machine over SSH, against a real SSH server with SFTP on 127.0.0.1 (asyncssh,
started here; host and client keys made here; the client's ~/.ssh is a temporary folder, so the
user's own is never read or written): follow a live wgan-train, steer it with wgan-ctl, kill the
server mid-run and start it again (every row once), host keys (unknown: asked; changed: refused),
and each failure named."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

pytest.importorskip("sshfs")

from benchmarks.ssh_server import LocalSSHServer  # noqa: E402
from engine.follow import RunFollower  # noqa: E402
from engine.remote import Prompter, RemoteError, open_remote_run, parse_location  # noqa: E402
from engine.runfiles import ConnectionLost  # noqa: E402
from tests.helpers import wait_until  # noqa: E402


class Answers(Prompter):
    """Answers host key questions with ``yes`` and records them."""

    interactive = True

    def __init__(self, yes: bool):
        self.yes, self.asked = yes, []

    def confirm_host_key(self, host, port, key_type, fingerprint):
        self.asked.append((host, port, key_type, fingerprint))
        return self.yes


@pytest.fixture
def server(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))          # ~/.ssh of this test: config, known_hosts, id_ed25519
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    srv = LocalSSHServer(home).start()
    yield srv
    srv.close()


def run_folder(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.toml").write_text("")
    (run / "metrics.csv").write_text("gen_iter,w_estimate\n1,0.5\n2,0.25\n3,0.1")  # row 3 still being written
    return run


def test_ssh_locations_are_parsed_and_bad_ones_named():
    loc = parse_location("ssh://me@gpu-box:2222/srv/runs/a")
    assert (loc.user, loc.host, loc.port, loc.path) == ("me", "gpu-box", 2222, "/srv/runs/a")
    assert parse_location("ssh://gpu/~/runs/a").path == "runs/a"  # relative to the home folder
    assert parse_location("ssh://gpu/~/runs/a").url == "ssh://gpu/~/runs/a"
    with pytest.raises(ValueError, match="no folder"):
        parse_location("ssh://gpu")
    with pytest.raises(ValueError, match="port must be a number"):
        parse_location("ssh://gpu:99999/x")


def test_an_unknown_host_key_is_asked_with_its_fingerprint(server, tmp_path):
    run = run_folder(tmp_path)
    known = server.ssh_dir / "known_hosts"
    no = Answers(False)
    with pytest.raises(RemoteError, match="host key not accepted"):
        open_remote_run(server.url(run), no, server.options())
    fingerprint = server.host_key.get_fingerprint("sha256")
    assert no.asked == [("127.0.0.1", server.port, "ssh-ed25519", fingerprint)] and not known.exists()
    yes = Answers(True)
    files = open_remote_run(server.url(run), yes, server.options())
    files.close()
    assert yes.asked and known.read_text().startswith(f"[127.0.0.1]:{server.port} ssh-ed25519 AAAA")
    again = Answers(True)
    open_remote_run(server.url(run), again, server.options()).close()
    assert again.asked == []  # known now: nothing asked
    keygen = shutil.which("ssh-keygen")
    if keygen:  # OpenSSH's own tools read the line as theirs
        found = subprocess.run([keygen, "-F", f"[127.0.0.1]:{server.port}", "-f", str(known)], capture_output=True,
                               text=True)
        assert found.returncode == 0 and "ssh-ed25519" in found.stdout


@pytest.mark.skipif(not shutil.which("ssh-agent") or not shutil.which("ssh-add"), reason="no OpenSSH agent here")
def test_a_key_held_by_ssh_agent_logs_in(server, tmp_path, monkeypatch):
    """No identity file on disk: the key is in ssh-agent (SSH_AUTH_SOCK), as after ssh-add."""
    from engine.remote import SSHOptions

    run = run_folder(tmp_path)
    server.trust()
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        wait_until(sock.exists, 10, what="ssh-agent's socket")
        env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
        subprocess.run(["ssh-add", str(server.client_key_path)], env=env, check=True, capture_output=True)
        server.client_key_path.unlink()
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        files = open_remote_run(server.url(run), Prompter(), SSHOptions())  # the defaults: the agent, ~/.ssh
        assert RunFollower(files).poll().rows["gen_iter"] == [1, 2]
        files.close()
    finally:
        agent.terminate()
        agent.wait(10)


def test_a_changed_host_key_is_refused_saying_what_it_can_mean(server, tmp_path):
    import asyncssh

    run = run_folder(tmp_path)
    server.trust()
    server.kill()
    server.host_key = asyncssh.generate_private_key("ssh-ed25519")  # reinstalled, or someone in between
    server.start()
    asker = Answers(True)
    with pytest.raises(RemoteError) as err:
        open_remote_run(server.url(run), asker, server.options())
    text = str(err.value)
    assert "has changed" in text and "man-in-the-middle" in text and "ssh-keygen -R" in text
    assert server.host_key.get_fingerprint("sha256") in text and asker.asked == []  # never asked: refused


def test_a_host_alias_of_ssh_config_gives_the_host_port_user_and_identity_file(server, tmp_path):
    """``ssh://gpu/...`` with ``Host gpu`` in ~/.ssh/config, as ssh reads it: HostName, Port, User
    and an IdentityFile that is not one of the default names."""
    from engine.remote import SSHOptions

    run = run_folder(tmp_path)
    server.trust()
    key = server.ssh_dir / "lab_key"
    server.client_key_path.rename(key)
    (server.ssh_dir / "config").write_text(f"Host gpu\n  HostName 127.0.0.1\n  Port {server.port}\n"
                                           f"  User {server.user}\n  IdentityFile {key}\n")
    options = SSHOptions(agent=False)  # the defaults: ~/.ssh/config and ~/.ssh/known_hosts of this test's HOME
    files = open_remote_run(f"ssh://gpu{run}", Answers(False), options)
    assert RunFollower(files).poll().rows["gen_iter"] == [1, 2]
    files.close()


@pytest.mark.filterwarnings("ignore:.*bcrypt.kdf:UserWarning")  # few KDF rounds: a test's key, made fast
def test_the_passphrase_of_an_encrypted_key_is_asked_once(server, tmp_path):
    run = run_folder(tmp_path)
    server.trust()
    server.client_key.write_private_key(str(server.client_key_path), passphrase="open sesame", rounds=4)

    class Typist(Answers):
        def secret(self, prompt):
            self.asked.append(prompt)
            return "open sesame"

    typist = Typist(False)
    files = open_remote_run(server.url(run), typist, server.options())
    assert typist.asked == [f"Enter passphrase for key '{server.client_key_path}': "]  # as ssh asks
    server.kill()
    server.start()
    files.reconnect()
    assert len(typist.asked) == 1  # kept in memory for the reconnection, never written
    files.close()


def test_each_failure_names_what_failed(server, tmp_path):
    run = run_folder(tmp_path)
    server.trust()
    opts = server.options()
    with pytest.raises(RemoteError, match="not a run folder"):
        open_remote_run(server.url(tmp_path / "home"), Prompter(), opts)
    with pytest.raises(RemoteError, match="no such folder"):
        open_remote_run(server.url(tmp_path / "nowhere"), Prompter(), opts)
    with pytest.raises(RemoteError, match="no such host"):
        open_remote_run("ssh://no-such-host.invalid/x", Prompter(), opts)
    other = LocalSSHServer(tmp_path / "other", authorize_key=False).start()  # our key is not authorised there
    try:
        other.trust(server.ssh_dir / "known_hosts")
        with pytest.raises(RemoteError, match="login refused"):
            open_remote_run(other.url(run), Prompter(), opts)
        port = other.port
    finally:
        other.close()
    with pytest.raises(RemoteError, match="connection refused"):
        open_remote_run(f"ssh://127.0.0.1:{port}{run}", Prompter(), opts)
    server.denied.add(str(run.resolve()))  # another user's folder
    with pytest.raises(RemoteError, match="permission denied"):
        open_remote_run(server.url(run), Prompter(), opts)


def test_remote_rows_arrive_once_and_a_rewritten_file_is_read_again(server, tmp_path):
    """Over SFTP there are no inode numbers: a file replaced by a longer one (wgan-train --resume,
    then more rows) is told by its bytes at the last offset."""
    import os

    run = run_folder(tmp_path)
    server.trust()
    files = open_remote_run(server.url(run), Prompter(), server.options())
    f = RunFollower(files)
    assert f.poll().rows["gen_iter"] == [1, 2]  # row 3 is still being written: not read
    with open(run / "metrics.csv", "a") as fh:
        fh.write("5\n4,0.05\n")
    assert f.poll().rows == {"gen_iter": [3, 4], "w_estimate": [0.15, 0.05]}
    assert f.poll().rows == {}  # none twice
    (run / "new.csv").write_text("gen_iter,w_estimate\n1,0.5\n2,0.25\n3,0.2\n4,0.125\n5,0.0625\n")
    os.replace(run / "new.csv", run / "metrics.csv")
    up = f.poll()
    assert up.reset and up.rows["gen_iter"] == [1, 2, 3, 4, 5]
    files.close()


def test_wgan_ctl_status_of_a_long_run_does_not_fetch_its_history(server, tmp_path, capsys):
    """A long run's metrics.csv (megabytes) stays on the server: wgan-ctl reads the heartbeat and
    the events only (bytes counted on the wire)."""
    import json

    from benchmarks.ssh_server import CountingProxy
    from engine.cli import ctl_main
    from engine.remote.ssh import append_known_host, known_host_line

    run = run_folder(tmp_path)
    with open(run / "metrics.csv", "w") as fh:
        fh.write("gen_iter,w_estimate\n" + "".join(f"{i},0.{i:09d}\n" for i in range(1, 200_001)))
    (run / "events.jsonl").write_text(json.dumps({"type": "start", "gen_iter": 0}) + "\n")
    (run / "status.json").write_text(json.dumps({"state": "running", "gen_iter": 200_000, "total": 300_000}))
    proxy = CountingProxy(server).start()
    append_known_host(server.ssh_dir / "known_hosts", known_host_line("127.0.0.1", proxy.port, server.host_key))
    try:
        assert ctl_main([f"ssh://{server.user}@127.0.0.1:{proxy.port}{run}", "status"]) == 0
    finally:
        proxy.close()
    assert "training; iteration 200000 of 300000" in capsys.readouterr().out
    size = (run / "metrics.csv").stat().st_size
    assert size > 3_000_000 and proxy.total < 30_000  # kilobytes on the wire, not the 3 MB of history


def test_a_password_is_asked_when_no_key_is_accepted(tmp_path, monkeypatch):
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    srv = LocalSSHServer(tmp_path / "home", authorize_key=False, password="s3cret").start()
    try:
        srv.trust()
        run = run_folder(tmp_path)

        class Typist(Answers):
            def secret(self, prompt):
                self.asked.append(prompt)
                return "s3cret"

        typist = Typist(False)
        files = open_remote_run(srv.url(run), typist, srv.options())
        assert len(typist.asked) == 1 and f"tester@127.0.0.1:{srv.port}" in typist.asked[0]  # like ssh's prompt
        assert "Password" in typist.asked[0]
        assert RunFollower(files).poll().rows["gen_iter"] == [1, 2]
        srv.kill()
        srv.start()
        files.reconnect()  # the password typed once serves the reconnection (in memory only)
        assert len(typist.asked) == 1
        files.close()
    finally:
        srv.close()


def test_follow_steer_and_survive_a_server_restart(server, tmp_path, capsys):
    """A real trainer writes its folder (on a thread here: the engine as wgan-train runs it); it is
    followed and steered over SSH (wgan-ctl, the same code as a local run); the SSH server is
    killed mid-run and started again: every row arrives once, in order."""
    import threading

    from engine import Trainer
    from engine.cli import ctl_main
    from engine.rundir import read_metrics
    from tests.helpers import tiny_config

    server.trust()
    out = tmp_path / "run"
    cfg = tiny_config(live=True)
    cfg.train.threads = 1
    trainer = Trainer(cfg, out, report_interval_s=0.05)
    thread = threading.Thread(target=trainer.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: (out / "status.json").exists(), 120, what="the run's heartbeat")
        url = server.url(out)
        files = open_remote_run(url, Prompter(), server.options())
        follower = RunFollower(files)
        seen: list[float] = []

        def rows_past(n):
            seen.extend(follower.poll().rows.get("gen_iter", []))
            return len(seen) >= n

        wait_until(lambda: rows_past(20), 60, what="rows over SSH")
        assert ctl_main([url, "set", "lr_critic=0.0003", "--wait", "60"]) == 0
        applied = int(capsys.readouterr().out.split("applied at iteration ")[1].split()[0])
        assert ctl_main([url, "set", "n_critic=0"]) == 2  # refused at once, with the rule; the run goes on
        assert "n_critic" in capsys.readouterr().err
        server.kill()
        with pytest.raises(ConnectionLost):
            follower.poll()
        n = len(seen)
        server.start()  # the same port and host key
        wait_until(lambda: _reconnected(files), 30, what="the reconnection")
        wait_until(lambda: rows_past(n + 20), 60, what="rows after the restart")
        assert ctl_main([url, "status"]) == 0 and "training; iteration" in capsys.readouterr().out
        assert ctl_main([url, "stop", "--wait", "60"]) == 0
        thread.join(60)
        assert not thread.is_alive()

        def drained():
            up = follower.poll()
            seen.extend(up.rows.get("gen_iter", []))
            return up.state == "stopped"

        wait_until(drained, 30, what="the stop over SSH")
        files.close()
    finally:
        trainer.stop()
        thread.join(30)
    written = read_metrics(out / "metrics.csv")
    assert seen == written["gen_iter"], "every row once, in order, across the restart"
    after = [lr for it, lr in zip(written["gen_iter"], written["lr_critic"], strict=True) if it > applied]
    assert after and all(abs(v - 3e-4) < 1e-12 for v in after)  # the edit landed in metrics.csv


def _reconnected(files) -> bool:
    try:
        files.reconnect()
    except ConnectionLost:
        return False
    return True
