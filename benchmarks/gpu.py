"""Engine vs the textbook WGAN-GP loop on the DCGAN-64 preset, on a GPU, in one process.

    python benchmarks/gpu.py [--iters 20] [--repeats 3] [--device cuda]
    python benchmarks/gpu.py --device cpu --iters 1 --repeats 1 --batch 8 --features 8   # smoke check

Prints real images per second through the critic (generator iterations/s x n_critic x batch) of
both loops and their ratio, with what the engine chose for the device (precision, channels-last,
cuDNN autotuning). Without a GPU (and no ``--device``) it says so and exits with status 0. A
benchmark, not a test.

Both loops train the ``dcgan64-wgan-gp`` preset's networks (DCGAN 64x64, layer-norm critic, batch
64, n_critic 5, lambda 10, Adam 1e-4 betas (0, 0.9)) on the same random 64x64 RGB images, on the
same device. The repeats are interleaved (textbook, engine, engine, textbook, ...), so a change in
the machine's load touches both alike.

- the engine: :class:`engine.Trainer` as ``wgan-train`` builds it (no evaluation, samples or
  checkpoints), with the device settings ``[train] precision``, ``channels_last``,
  ``cudnn_benchmark`` and ``pin_memory`` at "auto"/defaults: on CUDA bf16 (or fp16 with gradient
  scalers), channels-last, cuDNN autotuning;
- the textbook loop (``benchmarks/textbook_dcgan.py``, shared with
  ``benchmarks/dcgan_throughput.py``): the WGAN-GP pseudo-code (docs/algorithm.md, "WGAN-GP") as
  tutorials write it:
  fp32, NCHW, the stock LeakyReLU, separate real and fake critic passes, ``.item()`` after every
  step. Its images are kept on the device already scaled to [-1, 1] (the kindest data path it
  could have), so the ratio is about the training step.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.textbook_dcgan import TextbookWGANGP  # noqa: E402
from engine import Trainer, load_preset  # noqa: E402
from engine.data.images import ImageData  # noqa: E402

PRESET = "dcgan64-wgan-gp"
NO_GPU = ("benchmarks/gpu.py: no CUDA GPU on this machine (torch.cuda.is_available() is False), so there is "
          "nothing to measure; run it where `nvidia-smi` lists a GPU and PyTorch has a CUDA build "
          "(WGAN_TORCH in the quick start of README.md), or add --device cpu for a smoke check of the script itself.")


# ----------------------------------------------------------------------------- the engine
def engine_trainer(images: torch.Tensor, device: torch.device, *, batch: int, features: int) -> Trainer:
    cfg = load_preset(PRESET)
    cfg.data.holdout = 0.0  # the data are given below (the preset reads a folder)
    cfg.train.eval_every = cfg.train.sample_every = cfg.train.checkpoint_every = 0  # the loop alone
    cfg.train.batch_size, cfg.model.features = batch, features
    data = ImageData("random", images, device=device, pin_memory=cfg.train.pin_memory)
    return Trainer(cfg, None, device=device, data=data)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", help="cuda (the default when there is a GPU), cuda:N, or cpu (a smoke check)")
    ap.add_argument("--iters", type=int, help="generator iterations per timing (default 20 on a GPU, 1 on the CPU)")
    ap.add_argument("--repeats", type=int, help="timings of each loop (default 3 on a GPU, 1 on the CPU)")
    ap.add_argument("--batch", type=int, help="batch size (default: the preset's, 64)")
    ap.add_argument("--features", type=int, help="DCGAN base width (default: the preset's, 64)")
    ap.add_argument("--images", type=int, default=4096, help="random training images")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    if args.device is None and not torch.cuda.is_available():
        print(NO_GPU)
        return 0
    device = torch.device(args.device or "cuda")
    if device.type == "cuda" and not torch.cuda.is_available():
        print(NO_GPU)
        return 0
    gpu = device.type == "cuda"
    iters = args.iters or (20 if gpu else 1)
    repeats = args.repeats or (3 if gpu else 1)
    preset = load_preset(PRESET)
    batch = args.batch or preset.train.batch_size
    features = args.features or preset.model.features
    n_critic = preset.objective.n_critic
    images = torch.randint(0, 256, (args.images, 3, 64, 64), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))

    trainer = engine_trainer(images, device, batch=batch, features=features)
    cfg = preset.copy()
    cfg.train.batch_size, cfg.model.features = batch, features
    textbook = TextbookWGANGP.from_config(cfg, images, device)
    loops = {"textbook": textbook.run, "engine": lambda n: trainer.run(trainer.gen_iter + n)}
    for run in loops.values():  # warm-up: cuDNN's algorithm search, allocator, oneDNN caches
        run(2 if gpu else 1)
        sync(device)
    rates: dict[str, list[float]] = {name: [] for name in loops}
    for r in range(repeats):
        for name in (("textbook", "engine") if r % 2 == 0 else ("engine", "textbook")):
            t0 = time.perf_counter()
            loops[name](iters)
            sync(device)
            rates[name].append(iters / (time.perf_counter() - t0))
    per_iter = n_critic * batch  # real images through the critic per generator iteration
    best = {name: max(v) for name, v in rates.items()}
    name = torch.cuda.get_device_name(device) if gpu else (platform.processor() or platform.machine())
    res = {"device": f"{device} ({name})", "torch": torch.__version__, "batch": batch, "features": features,
           "iters": iters, "repeats": repeats, "engine_settings": trainer.performance.describe(),
           "textbook_its": best["textbook"], "engine_its": best["engine"],
           "textbook_images_per_s": best["textbook"] * per_iter, "engine_images_per_s": best["engine"] * per_iter,
           "ratio": best["engine"] / best["textbook"], "runs_its": rates}
    print(f"device: {res['device']}, torch {torch.__version__}; {PRESET}, batch {batch}, features {features}; "
          f"best of {repeats} interleaved timings of {iters} generator iterations")
    print(f"engine settings: {res['engine_settings']}")
    print(f"textbook loop (fp32, NCHW): {res['textbook_images_per_s']:9.1f} images/s  ({best['textbook']:.3f} it/s)")
    print(f"engine                    : {res['engine_images_per_s']:9.1f} images/s  ({best['engine']:.3f} it/s)")
    print(f"ratio engine / textbook: {res['ratio']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
