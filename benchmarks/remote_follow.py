"""What following a run over SSH moves on the wire, and how late a row arrives.

    python benchmarks/remote_follow.py [--seconds 20] [--idle 10] [--every 0.1] [--picture-every 5]

A real SSH server with SFTP on 127.0.0.1 (asyncssh, started here, keys made here; the client's
~/.ssh is a temporary folder) serves a run folder that a writer fills as the trainer does: a row
every ``--every`` s appended to metrics.csv, the heartbeat (status.json) rewritten every second,
a 64 x 64 picture every ``--picture-every`` s. The studio's follower (engine.follow.RunFollower
over engine.remote.RemoteFiles, polled as studio.sources.FolderSource polls: 0.5 s after a
change, slowing to 4 s while nothing changes) follows it through a TCP relay that counts every
byte the SSH connection moves each way (encryption, framing and keepalives included; the
handshake excluded).

Prints, while the run trains: the bytes on the wire per poll against the run's new bytes per
poll (new rows, events, rewritten heartbeats and new pictures; target: <= 1.2 x new + 2 kB), the
delay from a row written on the server to the row read by the follower (median and 90th
percentile; target: median < 2 s), beside the same follower on the folder itself (the local
baseline, same process); then, with the writer paused ``--idle`` s: polls a second and bytes per
poll (the backoff). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ssh_server import CountingProxy, LocalSSHServer, RunWriter  # noqa: E402
from engine.follow import Backoff, RunFollower  # noqa: E402
from engine.remote import Prompter, SSHOptions, open_remote_run  # noqa: E402
from engine.remote.ssh import append_known_host, known_host_line  # noqa: E402

REMOTE_POLL = (0.5, 4.0)   # studio.sources.FolderSource.REMOTE_POLL_S, REMOTE_MOST_POLL_S
LOCAL_POLL = (0.25, 2.0)   # FolderSource.POLL_S, MOST_POLL_S


class Follow:
    """A follower polled on a thread as the studio polls: delays of the rows it reads, polls made."""

    def __init__(self, files, writer: RunWriter, poll: tuple[float, float]):
        self.follower = RunFollower(files)
        self.writer, self.backoff = writer, Backoff(*poll)
        self.delays: list[float] = []
        self.polls = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        while not self.stop.is_set():
            up = self.follower.poll()
            now = time.monotonic()
            self.polls += 1
            for it in up.rows.get("gen_iter", []):
                self.delays.append(now - self.writer.written_at[int(it)])
            if up.sample_name is not None:
                self.follower.read_file(up.sample_name)  # the studio shows it: it crosses the wire
            self.stop.wait(self.backoff.next(not up.empty))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=20.0, help="how long the run trains while followed")
    p.add_argument("--idle", type=float, default=10.0, help="then how long it is paused")
    p.add_argument("--every", type=float, default=0.1, help="a row every S seconds")
    p.add_argument("--picture-every", type=float, default=5.0, help="a picture every S seconds")
    args = p.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="remote-follow-"))
    server = LocalSSHServer(tmp / "home").start()
    proxy = CountingProxy(server).start()
    known = server.ssh_dir / "known_hosts"
    append_known_host(known, known_host_line("127.0.0.1", proxy.port, server.host_key))  # the relay's port
    writer = RunWriter(tmp / "run", every=args.every, heartbeat_s=1.0, picture_every_s=args.picture_every)
    options = SSHOptions(known_hosts=known, config=[], agent=False,
                         client_keys=[server.client_key_path])
    url = f"ssh://{server.user}@127.0.0.1:{proxy.port}{writer.rd.path}"
    remote_files = open_remote_run(url, Prompter(), options)
    remote = Follow(remote_files, writer, REMOTE_POLL)
    local = Follow(writer.rd.path, writer, LOCAL_POLL)
    for f in (remote, local):  # the folder as it is before the run goes on (config, header, start event)
        f.follower.poll()
    wire0, new0, polls0 = proxy.total, writer.bytes_written, remote.polls
    writer.start()
    remote.thread.start()
    local.thread.start()
    time.sleep(args.seconds)
    wire1, new1, polls1 = proxy.total, writer.bytes_written, remote.polls
    writer.paused.set()
    time.sleep(args.idle)
    wire2, polls2 = proxy.total, remote.polls
    for f in (remote, local):
        f.stop.set()
        f.thread.join(10)
    writer.stop()
    remote_files.close()
    proxy.close()
    server.close()

    polls = max(1, polls1 - polls0)
    wire, new = (wire1 - wire0) / polls, (new1 - new0) / polls
    target = 1.2 * new + 2048
    med, p90 = statistics.median(remote.delays), statistics.quantiles(remote.delays, n=10)[-1]
    lmed = statistics.median(local.delays)
    idle_polls = max(1, polls2 - polls1)
    print(f"while training ({args.seconds:.0f} s, a row every {args.every} s, a picture every {args.picture_every} s): "
          f"{polls} polls")
    print(f"  wire per poll        {wire:8.0f} bytes   (both ways, SSH framing and encryption included)")
    print(f"  run's new per poll   {new:8.0f} bytes   target <= 1.2 x new + 2 kB = {target:.0f}: "
          f"ratio to target {wire / target:.2f} ({'met' if wire <= target else 'MISSED'})")
    print(f"  rows read            {len(remote.delays)} of {writer.gen_iter}")
    print(f"  delay written->read  median {med:.2f} s, p90 {p90:.2f} s (target median < 2 s: "
          f"{'met' if med < 2 else 'MISSED'}); the local follower, same process: median {lmed:.2f} s "
          f"(ratio {med / lmed:.2f})")
    print(f"while paused ({args.idle:.0f} s): {idle_polls / args.idle:.2f} polls/s, "
          f"{(wire2 - wire1) / idle_polls:.0f} bytes per poll")
    return 0 if wire <= target and med < 2 else 1


if __name__ == "__main__":
    sys.exit(main())
