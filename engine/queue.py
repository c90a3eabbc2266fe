"""The queue of a runs folder: runs waiting to train, kept in ``RUNS_DIR/queue.json`` so it
survives closing or a crash of whatever ran it (docs/guide/sweeps.md, "The queue").

Every change is a read-modify-write of ``queue.json`` under ``RUNS_DIR/queue.lock`` (a file lock
every process agrees on), written atomically; so the studio and ``wgan-queue`` may both edit the
queue at any time. Only the runner (:mod:`engine.queue_runner`, one at a time) starts entries and
records how they end. An entry's configuration is copied into ``RUNS_DIR/queue/<id>.toml`` when
it is added: a later change of the file it came from does not change what trains.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from .config import Config, ConfigError, list_presets, load_config, load_preset, save_config
from .io import atomic_write_bytes
from .procs import FileLock, machine_cores, slots_for, threads_needed
from .requests import write_request

QUEUE_FILE = "queue.json"
LOCK_FILE = "queue.lock"
RUNNER_LOCK = "queue.runner.lock"
QUEUE_DIR = "queue"
STATES = ("queued", "held", "running", "done", "stopped", "failed")
VERSION = 1

__all__ = ["QueueEntry", "QueueError", "RunQueue", "machine_cores", "slots_for", "threads_needed"]


class QueueError(ValueError):
    """An edit the queue refuses (the message says why)."""


@dataclass(frozen=True)
class QueueEntry:
    id: str
    name: str
    config: str
    run_dir: str
    state: str = "queued"
    source: str = ""
    threads: int = 1
    nproc: int | None = None
    added: float = 0.0
    started: float | None = None
    ended: float | None = None
    pid: int | None = None
    host: str | None = None
    attempts: int = 0
    stop_requested: bool = False
    returncode: int | None = None
    message: str = ""
    log: str = ""
    root: str = ""          # the runs folder (not stored)

    @property
    def run_path(self) -> Path:
        return Path(self.root) / self.run_dir

    @property
    def config_path(self) -> Path:
        return Path(self.root) / self.config

    @property
    def log_path(self) -> Path:
        return Path(self.root) / self.log

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("root")
        return d

    @classmethod
    def from_json(cls, d: dict, root: Path) -> QueueEntry:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known and k != "root"}, root=str(root))


class RunQueue:
    """The queue of ``runs_dir``; every method reads ``queue.json`` afresh."""

    def __init__(self, runs_dir: str | os.PathLike):
        self.root = Path(runs_dir)

    # ------------------------------------------------------------------ reading

    def read(self) -> dict:
        try:
            data = json.loads((self.root / QUEUE_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except (OSError, ValueError) as e:
            raise QueueError(f"{self.root / QUEUE_FILE}: cannot be read ({e})") from None
        data.setdefault("version", VERSION)
        data.setdefault("rev", 0)
        data.setdefault("held", False)
        data.setdefault("slots", None)
        data["entries"] = [QueueEntry.from_json(e, self.root) for e in data.get("entries", [])
                           if isinstance(e, dict)]
        return data

    def entries(self) -> list[QueueEntry]:
        return self.read()["entries"]

    def get(self, entry_id: str) -> QueueEntry:
        for e in self.entries():
            if e.id == entry_id:
                return e
        raise KeyError(entry_id)

    def held(self) -> bool:
        return bool(self.read()["held"])

    def slots(self) -> int | None:
        return self.read()["slots"]

    def rev(self) -> int:
        return int(self.read()["rev"])

    # ------------------------------------------------------------------ editing

    @contextlib.contextmanager
    def edit(self) -> Iterator[dict]:
        """Read, let the caller change, write back (atomically, ``rev`` + 1), all under the lock."""
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(self.root / LOCK_FILE):
            data = self.read()
            yield data
            data["rev"] = int(data["rev"]) + 1
            body = {**data, "entries": [e.to_json() for e in data["entries"]]}
            atomic_write_bytes(self.root / QUEUE_FILE, (json.dumps(body, indent=1) + "\n").encode("utf-8"))

    def update(self, entry_id: str, **changes) -> QueueEntry:
        with self.edit() as data:
            i = _index(data, entry_id)
            data["entries"][i] = replace(data["entries"][i], **changes)
            return data["entries"][i]

    def add(self, config: Config | str | os.PathLike, *, name: str | None = None, nproc: int | None = None,
            held: bool = False, source: str | None = None) -> QueueEntry:
        """Queue a run of ``config`` (a Config, a preset name or a .toml path; ConfigError if bad)."""
        cfg, default_source, default_name = _resolve(config)
        entry_id = uuid.uuid4().hex[:12]
        (self.root / QUEUE_DIR).mkdir(parents=True, exist_ok=True)
        conf = f"{QUEUE_DIR}/{entry_id}.toml"
        save_config(cfg, self.root / conf)
        with self.edit() as data:
            run_dir = self._free_name(_slug(name or default_name), data)
            entry = QueueEntry(entry_id, name or run_dir, conf, run_dir, "held" if held else "queued",
                               source or default_source, threads_needed(cfg, machine_cores(), nproc), nproc,
                               time.time(), log=f"{QUEUE_DIR}/{entry_id}.log", root=str(self.root))
            data["entries"].append(entry)
        return entry

    def _free_name(self, base: str, data: dict) -> str:
        taken = {e.run_dir for e in data["entries"]}
        name, n = base, 1
        while name in taken or (self.root / name).exists():
            n += 1
            name = f"{base}-{n}"
        return name

    def move(self, entry_id: str, index: int) -> None:
        with self.edit() as data:
            entry = data["entries"].pop(_index(data, entry_id))
            data["entries"].insert(max(0, min(int(index), len(data["entries"]))), entry)

    def remove(self, entry_id: str) -> None:
        """Take an entry off the queue (its run folder stays); not while it runs."""
        with self.edit() as data:
            i = _index(data, entry_id)
            if data["entries"][i].state == "running":
                raise QueueError(f"{data['entries'][i].name} is training: stop it first")
            data["entries"].pop(i)

    def hold(self, entry_id: str, held: bool = True) -> None:
        with self.edit() as data:
            i = _index(data, entry_id)
            e = data["entries"][i]
            want_from, to = ("queued", "held") if held else ("held", "queued")
            if e.state != want_from:
                raise QueueError(f"{e.name} is {e.state}: only a {want_from} run can be "
                                 + ("held" if held else "released"))
            data["entries"][i] = replace(e, state=to)

    def requeue(self, entry_id: str) -> None:
        """A stopped or failed run back in the queue (it continues from its checkpoint)."""
        with self.edit() as data:
            i = _index(data, entry_id)
            e = data["entries"][i]
            if e.state not in ("stopped", "failed", "done"):
                raise QueueError(f"{e.name} is {e.state}: only a stopped, failed or finished run can be queued again")
            data["entries"][i] = replace(e, state="queued", stop_requested=False, message="", returncode=None)

    def stop(self, entry_id: str) -> None:
        """Ask a running entry's run to stop (it writes its checkpoint and ends "stopped")."""
        e = self.update(entry_id, stop_requested=True)
        if e.state == "running" and e.run_path.is_dir():
            write_request(e.run_path, "stop", by="queue")

    def set_held(self, held: bool) -> None:
        with self.edit() as data:
            data["held"] = bool(held)

    def set_slots(self, slots: int | None) -> None:
        if slots is not None and (isinstance(slots, bool) or not isinstance(slots, int) or slots < 1):
            raise QueueError(f"slots = {slots!r}: expected a whole number >= 1, or automatic")
        with self.edit() as data:
            data["slots"] = slots


def _index(data: dict, entry_id: str) -> int:
    for i, e in enumerate(data["entries"]):
        if e.id == entry_id:
            return i
    raise KeyError(entry_id)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "-", text).strip("-.") or "run"


def _resolve(config: Config | str | os.PathLike) -> tuple[Config, str, str]:
    """(the configuration, where it came from, a default name)."""
    if isinstance(config, Config):
        return config, "current configuration", Path(config.source).stem if config.source else "run"
    text = str(config)
    if text in list_presets():
        return load_preset(text), f"preset {text}", text
    path = Path(os.path.expanduser(text))
    if not path.suffix == ".toml" and not path.exists():
        raise ConfigError("neither a preset nor a config file", key="config", value=text,
                          allowed=", ".join(list_presets()) + " or a .toml path")
    return load_config(path), str(path.resolve()), path.stem
