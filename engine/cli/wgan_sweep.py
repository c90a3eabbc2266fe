"""``wgan-sweep SWEEP.toml --out DIR``: train a sweep's trials, each an ordinary run folder in
``DIR/trials/``; ``wgan-sweep --join DIR`` adds workers to a sweep that runs (docs/guide/sweeps.md).
Run the same command again after a crash: finished trials stay, the interrupted ones continue."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit

from ..config import ConfigError, load_config
from ..io import atomic_write_bytes
from .common import EXIT_USAGE, error, on_main_thread


def sweep_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="wgan-sweep",
        description="Train many runs of one configuration with some settings searched (Optuna: grid, random, TPE), "
                    "each trial an ordinary run folder in DIR/trials/; DIR/trials.csv lists them.")
    p.add_argument("sweep", nargs="?", help="the sweep file (.toml)")
    p.add_argument("--out", metavar="DIR", help="the sweep folder (created; run the same command again to go on)")
    p.add_argument("--join", metavar="DIR", help="add workers to the sweep in DIR (another terminal or machine)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="trials trained side by side by this process (default: from the cores and each trial's "
                        "thread needs)")
    p.add_argument("--storage", metavar="URL",
                   help="an Optuna storage URL (e.g. postgresql://host/db) instead of DIR/optuna-journal.log")
    p.add_argument("--nproc-per-node", type=int, metavar="N", help="train each trial with N processes (torchrun)")
    return p


def sweep_main(argv: list[str] | None = None) -> int:
    args = sweep_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if bool(args.join) == bool(args.sweep):
        return error("give a sweep file and --out DIR, or --join DIR")
    if args.sweep and not args.out:
        return error("--out DIR is required (the sweep folder)")
    if args.workers is not None and args.workers < 1:
        return error(f"--workers {args.workers}: expected a whole number >= 1")
    try:
        import optuna  # noqa: F401
    except ImportError:
        return error("sweeps need Optuna: pip install 'wgan-studio[sweep]'")
    out = Path(args.join or args.out)
    try:
        spec = read_spec(args, out)
        storage = open_storage(out, args.storage, create=not args.join)
    except (ConfigError, ValueError) as e:
        return error(str(e))
    return run(spec, out, storage, args)


def read_spec(args, out: Path):
    """The sweep: the file given (which must match DIR's if the sweep exists), or DIR's own (--join)."""
    from ..sweep import load_sweep, loads_sweep
    from ..sweep.folder import BASE_FILE, SWEEP_FILE
    from ..sweep.runner import prepare_folder
    if args.join:
        if not (out / SWEEP_FILE).is_file():
            raise ValueError(f"{out}: not a sweep folder (no {SWEEP_FILE}); start it with wgan-sweep SWEEP --out")
        text = (out / SWEEP_FILE).read_text(encoding="utf-8")
        return loads_sweep(text, file=str(out / SWEEP_FILE), base_config=load_config(out / BASE_FILE))
    spec = load_sweep(args.sweep)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a folder")
    existing = out / SWEEP_FILE
    if existing.is_file() and existing.read_text(encoding="utf-8") != spec.text:
        raise ValueError(f"{out} holds another sweep ({existing} differs from {args.sweep}); choose another --out, "
                         f"or add workers to it with --join {out}")
    if not existing.is_file() and out.is_dir() and any(out.iterdir()):
        raise ValueError(f"{out}: exists and is not an empty folder or a sweep folder; choose a new --out")
    prepare_folder(spec, out)
    return spec


def _redacted(url: str) -> str:
    password = urlsplit(url).password
    return url.replace(f":{password}@", ":***@", 1) if password else url


def open_storage(out: Path, url: str | None, *, create: bool):
    """The sweep's Optuna storage: DIR's journal file, or ``url``; DIR/storage.json says which,
    so a rerun or a --join without the URL is refused instead of starting a second sweep."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    from ..sweep.folder import JOURNAL_FILE, STORAGE_FILE
    path = out / STORAGE_FILE
    said = json.loads(path.read_text(encoding="utf-8")).get("storage") if path.is_file() else None
    want = "journal" if url is None else _redacted(url)
    if said is None and create:
        atomic_write_bytes(path, json.dumps({"storage": want}).encode())
    elif said is not None and said != want:
        raise ValueError(f"{out} keeps its state in {said if said != 'journal' else out / JOURNAL_FILE}: give "
                         + ("--storage with that URL" if said != "journal" else "no --storage"))
    if url is not None:
        return url
    return JournalStorage(JournalFileBackend(str(out / JOURNAL_FILE)))


def run(spec, out: Path, storage, args) -> int:
    import os

    from ..sweep.runner import Sweep
    seed = spec.seed if not args.join else spec.seed + os.getpid()
    sweep = Sweep(spec, out, storage, workers=args.workers, nproc=args.nproc_per_node, seed=seed,
                  say=lambda s: print(s, file=sys.stderr, flush=True))
    print(f"sweep {out}: {spec.trials} trials ({spec.sampler}, {spec.metric} {spec.direction}), "
          f"{sweep.workers} at a time", file=sys.stderr, flush=True)
    old = signal.signal(signal.SIGTERM, _sigterm) if on_main_thread() else None
    try:
        sweep.run()
    except KeyboardInterrupt:
        print(f"stopped; run the same command again to go on (finished trials stay in {out / 'trials'})",
              file=sys.stderr)
        return 130
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)
    return closing_lines(sweep, out)


def _sigterm(signum, frame):
    raise KeyboardInterrupt


def closing_lines(sweep, out: Path) -> int:
    table = sweep.write_table()
    counts = {}
    for r in table.rows:
        counts[r.state] = counts.get(r.state, 0) + 1
    print(f"{len(table.rows)} trials: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    best = table.best
    if best is None:
        print("best trial: none (no trial completed)")
        return 1
    params = ", ".join(f"{k} = {v}" for k, v in best.params.items())
    print(f"best trial: {best.run_dir.name} ({table.metric} {best.value:.6g}; {params}) in {best.run_dir}")
    print(f"trials: {out / 'trials.csv'}")
    return 0


def main() -> int:  # pragma: no cover - python -m engine.cli.wgan_sweep
    return sweep_main()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(sweep_main())


__all__ = ["EXIT_USAGE", "sweep_main"]
