"""A sweep folder's files, read without Optuna (the studio reads them)::

    DIR/sweep.toml          the sweep file, copied at the first run
    DIR/base.toml           the base configuration with [set] applied
    DIR/optuna-journal.log  the Optuna storage (default: a journal file)
    DIR/storage.json        which storage the sweep keeps its state in
    DIR/claims/NNN.json     which worker trains trial NNN (refreshed while it does)
    DIR/logs/NNN.log        the trial's wgan-train output
    DIR/trials/NNN-.../     the trial's run folder (an ordinary one)
    DIR/trials.csv          one row per trial: number, state, parameters, metric, iteration, run folder
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..io import atomic_write_bytes
from ..procs import HOST, engine_command, pid_alive

SWEEP_FILE = "sweep.toml"
BASE_FILE = "base.toml"
JOURNAL_FILE = "optuna-journal.log"
STORAGE_FILE = "storage.json"
LOCK_FILE = "sweep.lock"
TRIALS_CSV = "trials.csv"
STUDY_NAME = "wgan-sweep"
STATES = ("complete", "pruned", "failed", "running", "waiting")
CLAIM_STALE_S = 60.0   # a claim not refreshed for this long belongs to a dead worker
CLAIM_EVERY_S = 10.0


def is_sweep_folder(path: str | os.PathLike) -> bool:
    """A folder ``wgan-sweep`` made (it holds its sweep.toml)."""
    return (Path(path) / SWEEP_FILE).is_file()


def sweep_command(sweep_file: str | os.PathLike, out: str | os.PathLike, *, workers: int | None = None) -> list[str]:
    """The command line of ``wgan-sweep SWEEP --out DIR`` with this interpreter."""
    argv = engine_command("sweep", sweep_file, "--out", out)
    return argv + (["--workers", str(workers)] if workers else [])


def value_text(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, tuple | list):
        return "[" + ", ".join(map(value_text, v)) + "]"
    return str(v).lower() if isinstance(v, bool) else str(v)


def trial_name(number: int, params: dict[str, Any]) -> str:
    """``NNN-key=value-...``: the trial's run folder name (the last part of each key; safe characters)."""
    parts = [f"{k.rsplit('.', 1)[-1]}={value_text(v)}" for k, v in params.items()]
    text = "-".join(parts).replace("/", "_").replace(" ", "").replace(",", "_").replace("[", "").replace("]", "")
    return f"{number:03d}" + (f"-{text[:80]}" if text else "")


# ----------------------------------------------------------------------------- claims

def claim_path(out: Path, number: int) -> Path:
    return out / "claims" / f"{number:03d}.json"


def write_claim(out: Path, number: int, worker: str, *, released: bool = False) -> None:
    path = claim_path(out, number)
    path.parent.mkdir(exist_ok=True)
    body = {"worker": worker, "host": HOST, "pid": os.getpid(), "updated": time.time(), "released": released}
    atomic_write_bytes(path, json.dumps(body).encode())


def claim_is_stale(out: Path, number: int, *, started: float | None, now: float | None = None) -> bool:
    """Whether trial ``number`` (RUNNING in the storage) has no living worker: its claim was
    released, its process is dead on this host, or it was not refreshed for CLAIM_STALE_S; with no
    claim at all, when the trial started CLAIM_STALE_S ago."""
    now = time.time() if now is None else now
    try:
        claim = json.loads(claim_path(out, number).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return started is None or now - started > CLAIM_STALE_S
    if claim.get("released"):
        return True
    if pid_alive(claim.get("pid"), claim.get("host")) is False:
        return True
    return now - float(claim.get("updated", 0)) > CLAIM_STALE_S


# ----------------------------------------------------------------------------- trials.csv

@dataclass
class TrialRow:
    number: int
    state: str
    params: dict[str, Any]
    value: float | None = None
    iteration: int | None = None
    run_dir: Path | None = None


@dataclass
class SweepTrials:
    metric: str = ""
    direction: str = "minimize"
    params: list[str] = field(default_factory=list)
    rows: list[TrialRow] = field(default_factory=list)

    @property
    def best(self) -> TrialRow | None:
        done = [r for r in self.rows if r.state == "complete" and r.value is not None and math.isfinite(r.value)]
        if not done:
            return None
        pick = max if self.direction == "maximize" else min
        return pick(done, key=lambda r: r.value)


def write_trials(out: Path, table: SweepTrials) -> None:
    """Rewrite DIR/trials.csv atomically."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["number", "state", *table.params, table.metric, "iteration", "run_folder"])
    for r in sorted(table.rows, key=lambda r: r.number):
        rel = r.run_dir.relative_to(out).as_posix() if r.run_dir is not None else ""
        w.writerow([r.number, r.state, *(value_text(r.params.get(k, "")) for k in table.params),
                    "" if r.value is None else f"{r.value:.9g}", "" if r.iteration is None else r.iteration, rel])
    atomic_write_bytes(out / TRIALS_CSV, buf.getvalue().encode("utf-8"))


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text, text)


def read_trials(out: str | os.PathLike) -> SweepTrials:
    """DIR/trials.csv as rows (empty when not written yet); the direction from DIR/sweep.toml."""
    out = Path(out)
    table = SweepTrials()
    try:
        import tomllib
        table.direction = tomllib.loads((out / SWEEP_FILE).read_text(encoding="utf-8")).get("direction", "minimize")
    except (OSError, ValueError):
        pass
    try:
        lines = (out / TRIALS_CSV).read_text(encoding="utf-8").splitlines()
    except OSError:
        return table
    reader = list(csv.reader(lines))
    if not reader:
        return table
    head = reader[0]
    table.params, table.metric = head[2:-3], head[-3]
    for cells in reader[1:]:
        if len(cells) != len(head) or not cells[0].isdigit():
            continue
        params = {k: _number(v) for k, v in zip(table.params, cells[2:-3], strict=True)}
        value = float(cells[-3]) if cells[-3] else None
        table.rows.append(TrialRow(int(cells[0]), cells[1], params, value,
                                   int(cells[-2]) if cells[-2] else None, out / cells[-1] if cells[-1] else None))
    return table
