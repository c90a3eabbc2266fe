"""Every benchmark, one command: writes ``benchmarks/RESULTS.md`` (and the raw JSON beside it).

    python benchmarks/run_all.py [--quick] [--only NAME ...] [--out benchmarks/RESULTS.md]

Runs each benchmark script in its own process (so one's threads and memory do not colour the
next), one after another, with ``--json``, and turns what they print into one Markdown page
with the machine each figure ran on and the load average when it started. ``--merge`` re-runs only
``--only``'s benchmarks and keeps the others from the last raw JSON. ``--quick`` shrinks every
benchmark to check that the whole chain works (minutes, not the figures to quote). A failing
benchmark is reported in the page with its last output lines; the others still run. Expect about
40 minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import torch
        tv = torch.__version__
        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    except Exception:  # noqa: BLE001
        tv, gpu = "?", "?"
    return (f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, torch {tv}, {gpu}")


# name -> (script, normal args, quick args)
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "throughput": ("toy_throughput.py", [], ["--iters", "5", "--repeats", "1"]),
    "objective_cost": ("objective_cost.py", [], ["--iters", "3", "--repeats", "1"]),
    "gui_overhead": ("gui_overhead.py", [], ["--iterations", "20", "--repeats", "1"]),
    "soak": ("soak.py", [], ["--iterations", "500"]),
    "distance_sweep": ("distance_sweep.py", [], ["--count", "5", "--steps", "100"]),
    "w1_toy-wgan-gp": ("toy_quality.py", ["--preset", "toy-wgan-gp", "--seeds", "0"],
                       ["--preset", "toy-wgan-gp", "--seeds", "0", "--iters", "200"]),
    "w1_toy-wgan-clip": ("toy_quality.py", ["--preset", "toy-wgan-clip", "--seeds", "0"],
                         ["--preset", "toy-wgan-clip", "--seeds", "0", "--iters", "200"]),
    "ddp_scaling": ("ddp_scaling.py", [], ["--iters", "2", "--warmup", "1"]),
    "sweep_throughput": ("sweep_throughput.py", [], ["--iters", "5"]),
    "runs_view": ("runs_view.py", [], ["--seconds", "4", "--runs", "12", "--writers", "2"]),
    "w1_toy-gan": ("toy_quality.py", ["--preset", "toy-gan", "--seeds", "0"],
                   ["--preset", "toy-gan", "--seeds", "0", "--iters", "200"]),
}


def run_one(name: str, quick: bool, folder: Path) -> dict:
    script, args, quick_args = BENCHMARKS[name]
    out = folder / f"{name}.json"
    cmd = [sys.executable, str(HERE / script), *(quick_args if quick else args), "--json", str(out)]
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    t0 = time.perf_counter()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"[{name}] {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    res = {"name": name, "seconds": time.perf_counter() - t0, "rc": p.returncode, "load_before": load,
           "when": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
           "stdout": p.stdout, "tail": (p.stdout + p.stderr).strip().splitlines()[-15:]}
    if p.returncode == 0 and out.is_file():
        res["data"] = json.loads(out.read_text())
    print(f"[{name}] exit {p.returncode} after {res['seconds']:.0f} s", file=sys.stderr, flush=True)
    return res


def _fmt(v, spec=".3g") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


DDP_NOTE = ("What it means for a multi-GPU machine: on 2 CPU cores, 2 processes only share the same two cores "
            "(one process already has both as threads), so the CPU figures measure the overhead of the scheme, not a "
            "speed-up. On N GPUs each process has its own device: the compute per process falls by N and the "
            "all-reduce (the bytes above, over NVLink or PCIe with nccl, overlapped with the backward pass) is what "
            "remains. To measure there: it/s for 1, 2, 4, 8 processes with the global batch fixed and with the "
            "per-GPU batch fixed, nccl's all-reduce time per iteration (NCCL_DEBUG=INFO or the profiler), and "
            "whether the per-iteration control broadcast (a CPU gloo group) shows in the timeline.")


HEADS = {"throughput": "Engine vs the textbook WGAN-GP loop (toy-wgan-gp)",
         "objective_cost": "Gradient penalty vs weight clipping: cost per generator iteration",
         "gui_overhead": "Studio vs headless throughput, GUI responsiveness",
         "runs_view": "The Runs view: GUI stalls with 50 runs listed, 4 being written",
         "soak": "Soak: memory over a long run with the studio attached",
         "distance_sweep": "Example 1 (parallel lines): critic estimates vs closed forms",
         "ddp_scaling": "Data-parallel training (torchrun, gloo): 1 and 2 processes, digits preset"}


def _heading(res: dict) -> list[str]:
    name = res["name"]
    head = f"Exact W1 over the run: {name[3:]}" if name.startswith("w1_") else HEADS.get(name)
    load = res.get("load_before")
    return [f"### {head}", "",
            f"`benchmarks/{BENCHMARKS[name][0]}` — "
            + (f"{res['seconds']:.0f} s, " if res.get("seconds") is not None else "")
            + f"run {res.get('when', '?')}"
            + (f", 1-minute load average {load:.1f} when it started" if load is not None else "")]


def _throughput(d: dict) -> list[str]:
    return ["| loop | generator it/s | GFLOP/s | share of matmul rate |", "|---|---|---|---|",
            f"| textbook | {d['textbook_its']:.2f} | {d['textbook_gflops']:.1f} | "
            f"{100 * d['textbook_share_of_matmul']:.0f}% |",
            f"| engine | {d['engine_its']:.2f} | {d['engine_gflops']:.1f} | "
            f"{100 * d['engine_share_of_matmul']:.0f}% |", "",
            f"Ratio engine / textbook **{d['ratio']:.2f}x** (target >= 1.2x); work per generator iteration "
            f"{d['gflop_per_iter']:.2f} GFLOP (analytic); dense matmul rate here {d['matmul_gflops']:.1f} "
            f"GFLOP/s. Machine: {d['machine']}."]


def _objective_cost(d: dict) -> list[str]:
    lines = ["| preset | batch | n_critic | GP ms/iter | clipping ms/iter | GP / clipping |",
             "|---|---|---|---|---|---|"]
    for r in d["rows"]:
        lines.append(f"| {r['preset']} | {r['batch']} | {r['n_critic']} | {r['gp_ms']:.1f} | {r['clip_ms']:.1f} | "
                     f"**{r['ratio']:.2f}x** |")
    return lines + ["", f"Published (Gulrajani et al., GPU, CIFAR-10 DCGAN): about 1.9x. Machine: {d['machine']}."]


def _distance_sweep(d: dict) -> list[str]:
    lines = ["| θ | W = abs(θ) | GP estimate | clip estimate | JS | GAN JS estimate | dGP/dθ | dJS/dθ |",
             "|---|---|---|---|---|---|---|---|"]
    for r in d["rows"]:
        lines.append(f"| {r['theta']:.2f} | {r['w_exact']:.3f} | {_fmt(r.get('wgan-gp_estimate'), '.3f')} | "
                     f"{_fmt(r.get('wgan-clip_estimate'), '.5f')} | {r['js']:.3f} | "
                     f"{_fmt(r.get('gan_estimate'), '.4f')} | {_fmt(r.get('wgan-gp_grad'), '.3f')} | "
                     f"{_fmt(r.get('gan_grad'), '.4f')} |")
    s = d["summary"]
    return lines + ["", ", ".join(f"{k} = {_fmt(v, '.4g')}" for k, v in s.items()) + f" ({d['steps']} critic "
                    "steps per θ)."]


def _ddp_scaling(d: dict) -> list[str]:
    lines = ["| setting | generator it/s | ms / iteration | communication ms / iteration | bytes all-reduced "
             "/ iteration |", "|---|---|---|---|---|"]
    for r in d["rows"]:
        b = r["grad_bytes_per_iter"] + (r["other_bytes_per_iter"] if r["processes"] > 1 else 0)
        lines.append(f"| {r['processes']} process{'es' if r['processes'] > 1 else ''} x {r['threads']} "
                     f"thread{'s' if r['threads'] > 1 else ''} | {r['its_per_sec']:.3f} | {r['ms_per_iter']:.0f} | "
                     f"{_fmt(r['comm_ms_per_iter'] if r['processes'] > 1 else None, '.2f')} | {b:,} |")
    q = d["ratios"]
    return lines + ["", "Ratios: " + "; ".join(f"{k} {v:.2f}" for k, v in q.items()) + ". Communication: the "
                    "all-reduces of one iteration timed alone in the same gloo group (DDP overlaps them with the "
                    "backward pass). The global batch is the same in every row, so it/s compare directly.", "",
                    DDP_NOTE]


def _w1_curve(d) -> list[str]:
    r = d[0]
    at = dict(zip(r["w1_iters"], r["w1_curve"], strict=True))
    want = [500, 1000, 2000]
    return ["| iteration | " + " | ".join(str(k) for k in want) + " |",
            "|---|" + "---|" * len(want),
            "| exact W1 | " + " | ".join(_fmt(at.get(k), ".4f") for k in want) + " |", "",
            f"Final: W1 {r['w1']:.4f}, modes covered {r['modes']}/8, high-quality share {r['hq']:.2f}, "
            f"Spearman(W-estimate, W1) {r['spearman']:.2f} over the evaluations"
            + (f" ({r['spearman_ckpt']:.2f} at the checkpoints)" if "spearman_ckpt" in r else "")
            + f", {r['its']:.1f} it/s (seed {r['seed']}, 1 thread)."]


def _as_given(d) -> list[str]:
    """gui_overhead, soak and anything new: the figures as given."""
    flat = d if isinstance(d, dict) else {"result": d}
    return ["| figure | value |", "|---|---|"] + [f"| {k} | {_fmt(v, '.4g')} |" for k, v in flat.items()
                                                  if not isinstance(v, (list, dict))]


TABLES = {"throughput": _throughput, "objective_cost": _objective_cost, "distance_sweep": _distance_sweep,
          "ddp_scaling": _ddp_scaling}


def section(res: dict) -> list[str]:
    name, d = res["name"], res.get("data")
    lines = _heading(res)
    if d is None:
        return lines + ["", f"**Did not complete** (exit {res['rc']}). Last lines:", "", "```",
                        *res["tail"], "```", ""]
    table = _w1_curve if name.startswith("w1_") else TABLES.get(name, _as_given)
    return lines + [""] + table(d) + [""]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny settings: check the chain, not the figures")
    ap.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run only these")
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    ap.add_argument("--merge", action="store_true",
                    help="keep the other benchmarks' results from the existing raw JSON beside --out "
                         "(to re-run only the timing benchmarks on a quiet machine, say)")
    ap.add_argument("--use", nargs="+", default=[], metavar="NAME=FILE.json",
                    help="take NAME's figures from a JSON its script wrote earlier (--json) instead of running it "
                         "(the soak's 20,000 iterations take half an hour, say)")
    args = ap.parse_args(argv)
    names = args.only or list(BENCHMARKS)
    used: dict = {}
    for item in args.use:
        name, _, file = item.partition("=")
        if name not in BENCHMARKS or not Path(file).is_file():
            ap.error(f"--use {item}: expected NAME=FILE.json with NAME one of {', '.join(BENCHMARKS)} "
                     "and an existing file")
        f = Path(file)
        used[name] = {"name": name, "seconds": None, "rc": 0, "load_before": None, "tail": [],
                      "when": dt.datetime.fromtimestamp(f.stat().st_mtime).strftime("%Y-%m-%d %H:%M") + " (imported)",
                      "data": json.loads(f.read_text())}
    names = [n for n in names if n not in used]
    raw = args.out.with_suffix(".json")
    kept: dict = {}
    if args.merge and raw.is_file():
        old = json.loads(raw.read_text())
        kept = {k: v for k, v in old.items() if k in BENCHMARKS and isinstance(v, dict) and "rc" in v}
    with tempfile.TemporaryDirectory() as tmp:
        kept.update(used)
        kept.update({n: run_one(n, args.quick, Path(tmp)) for n in names})
    results = [kept[n] for n in BENCHMARKS if n in kept]
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    page = ["# Benchmark results", "",
            f"Written by `python benchmarks/run_all.py{' --quick' if args.quick else ''}` on {when}.", "",
            f"Machine: {machine()}.", ""]
    if args.quick:
        page += ["**Quick mode**: tiny settings that check the benchmarks run; these are not the figures.", ""]
    for r in results:
        page += section(r)
    from engine.io import atomic_write_bytes  # noqa: E402 (only now: the benchmarks ran in children)
    atomic_write_bytes(args.out, "\n".join(page).encode())
    atomic_write_bytes(raw, json.dumps({r["name"]: {k: v for k, v in r.items() if k != "stdout"} for r in results},
                                       indent=1).encode())
    failed = [r["name"] for r in results if r.get("data") is None]
    print(f"wrote {args.out} and {raw}" + (f"; failed: {', '.join(failed)}" if failed else ""), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
