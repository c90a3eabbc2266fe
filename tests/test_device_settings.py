"""Ready for a GPU (issue 22 point 7), each mechanism on its CPU path: mixed precision (bf16, and
fp16 with gradient scalers), channels-last, cuDNN autotuning's choice, host-resident image batches,
and the one function that resolves "auto" for a device (engine.device.resolve_performance), whose
choice and reason the user sees when a run starts."""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import Trainer, load_checkpoint, read_metrics
from engine.algorithm import AutogradGradients
from engine.checkpoint import save_checkpoint
from engine.config import Config
from engine.data.images import ImageData, fits_on_device
from engine.device import (
    Capabilities,
    apply_cudnn_benchmark,
    cpu_has_native_bf16,
    resolve_cudnn_benchmark,
    resolve_performance,
    resolve_pin_memory,
)
from engine.models import build_models
from engine.objectives.wgan_gp import gradient_penalty_and_norms
from engine.rundir import read_events
from tests.helpers import tiny_config

CPU, CUDA, MPS = torch.device("cpu"), torch.device("cuda"), torch.device("mps")
BF16_CPU, PLAIN_CPU = Capabilities(cpu_bf16=True), Capabilities()


def images(n: int = 96, channels: int = 1, size: int = 32, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8, generator=g),
            torch.arange(n) % 10)


def digits_config(**overrides) -> Config:
    base = dict(train__iterations=4, train__checkpoint_every=2, train__sample_every=0, train__eval_every=0,
                data__holdout=0.0)
    base.update(overrides)
    return tiny_config("digits-wgan-gp", **base)


def digits_trainer(run_dir=None, *, resident="auto", **overrides) -> Trainer:
    return Trainer(digits_config(**overrides), run_dir, data=ImageData("digits", *images(), resident=resident))


def csv_without_wall_time(path):
    lines = Path(path).read_text().splitlines()
    i = lines[0].split(",").index("wall_time_s")
    return [",".join(c for j, c in enumerate(line.split(",")) if j != i) for line in lines]


# ============================================================================ the choices

@pytest.mark.parametrize("preset, device, caps, value, reason", [
    ("digits-wgan-gp", CPU, BF16_CPU, "bf16", "auto: CPU with native bf16"),
    ("digits-wgan-gp", CPU, PLAIN_CPU, "fp32", "auto: this CPU has no native bf16"),
    ("mlp64-wgan-clip", CPU, BF16_CPU, "fp32", "auto: MLP networks train in fp32 on the CPU"),
    ("digits-wgan-gp", CUDA, Capabilities(cuda_bf16=True), "bf16", "auto: CUDA with bf16"),
    ("digits-wgan-gp", CUDA, Capabilities(cuda_bf16=False), "fp16", "auto: CUDA without bf16"),
    ("mlp64-wgan-clip", CUDA, Capabilities(cuda_bf16=True), "bf16", "auto: CUDA with bf16"),
    ("digits-wgan-gp", MPS, Capabilities(), "fp32", "auto: fp32 on mps"),
    ("toy-wgan-clip", CUDA, Capabilities(cuda_bf16=True), "fp32", "auto: 2-D points keep full precision"),
])
def test_auto_precision_follows_the_device_and_says_why(preset, device, caps, value, reason):
    cfg = tiny_config(preset)
    perf = resolve_performance(cfg, device, image=not cfg.is_toy, caps=caps)
    assert perf.precision.value == value and perf.precision.reason.startswith(reason)
    assert f"precision {value} ({reason}" in perf.describe()
    assert perf.grad_scaler == (value == "fp16")  # fp16 alone needs gradient scalers
    assert perf.autocast_dtype == {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[value]
    assert not perf.warnings


def test_explicit_precision_is_kept_but_the_hand_derived_toy_step_stays_fp32():
    cfg = tiny_config("digits-wgan-gp", train__precision="fp16")
    assert resolve_performance(cfg, CPU, image=True, caps=PLAIN_CPU).precision.value == "fp16"
    toy = tiny_config("toy-wgan-gp", train__precision="bf16")
    perf = resolve_performance(toy, CUDA, image=False, hand_derived=True, caps=Capabilities(cuda_bf16=True))
    assert perf.precision.value == "fp32" and "hand-derived" in perf.precision.reason
    assert any("precision = 'bf16' is not used" in w for w in perf.warnings)
    # the toy preset itself: the hand path, fp32 however the precision is set, and the user is told
    t = Trainer(toy, None)
    assert t.performance.precision.value == "fp32" and not t.amp.enabled
    assert any("hand-derived" in w for w in t.warnings)


@pytest.mark.parametrize("preset, device, setting, value", [
    ("digits-wgan-gp", CUDA, "auto", "on"),
    ("digits-wgan-gp", CUDA, "off", "off"),
    ("digits-wgan-gp", CPU, "on", "on"),
    ("mlp64-wgan-clip", CUDA, "auto", "off"),
    ("mlp64-wgan-clip", CPU, "on", "off"),
])
def test_channels_last_is_for_convolutional_networks(preset, device, setting, value):
    cfg = tiny_config(preset, train__channels_last=setting)
    perf = resolve_performance(cfg, device, image=True, caps=Capabilities(cuda_bf16=True))
    assert perf.channels_last.value == value
    assert perf.memory_format == (torch.channels_last if value == "on" else torch.contiguous_format)
    if cfg.model.arch == "mlp" and setting == "on":
        assert any("no image layout" in w for w in perf.warnings)


def test_cudnn_autotuning_and_pinning_are_cuda_settings_only(monkeypatch):
    assert resolve_cudnn_benchmark(True, "cpu").value == "off"
    assert resolve_cudnn_benchmark(True, "cuda").value == "on"
    assert resolve_cudnn_benchmark(False, "cuda").value == "off"
    assert resolve_pin_memory(True, "cpu").value == "off" and resolve_pin_memory(True, "mps").value == "off"
    assert resolve_pin_memory(True, "cuda").value == "on" and resolve_pin_memory(False, "cuda").value == "off"
    # nothing is set on the CPU: the process-wide switch keeps whatever it was
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    apply_cudnn_benchmark(resolve_cudnn_benchmark(True, "cpu"), CPU)
    assert torch.backends.cudnn.benchmark is False


# ============================================================================ mixed precision

@pytest.mark.parametrize("penalty", ["fp32", "auto"])
def test_bf16_run_trains_with_float32_weights_and_the_penalty_as_set(tmp_path, penalty):
    t = digits_trainer(tmp_path / "run", train__precision="bf16", model__ema_decay=0.9,
                       train__penalty_precision=penalty)
    seen = []  # (rows, autocast on, output dtype) of each pass through the critic's first layer
    t.critic.net[0].register_forward_hook(
        lambda mod, inp, out: seen.append((inp[0].shape[0], torch.is_autocast_enabled("cpu"), out.dtype)))
    t.run()
    m = read_metrics(tmp_path / "run" / "metrics.csv")
    for col in ("w_estimate", "critic_loss", "generator_loss", "gradient_penalty", "critic_grad_norm"):
        assert np.isfinite(m[col]).all(), col
    assert t.state == "finished" and t.nonfinite is None
    # the network passes ran in bf16; the penalty's pass over the m interpolates with autocast off
    # in float32 (fp32), or in bf16 like the others (auto): W term 64 rows, penalty 32, generator 32
    assert {dt for _, on, dt in seen if on} == {torch.bfloat16}
    if penalty == "fp32":
        assert {dt for _, on, dt in seen if not on} == {torch.float32}
        assert any(rows == 32 and not on for rows, on, _ in seen)
    else:
        assert all(on for _, on, _ in seen)
        assert [rows for rows, _, _ in seen[:3]] == [64, 32, 64]  # W term, penalty, the next W term
    # everything that is kept stays float32
    nets = (t.generator, t.critic, t.ema.model)
    assert all(p.dtype == torch.float32 for net in nets for p in net.state_dict().values() if p.is_floating_point())
    for opt in (t.opt_critic, t.opt_generator):
        assert all(v.dtype == torch.float32 for s in opt.state.values() for v in s.values() if v.is_floating_point()
                   and v.dim() > 0)
    assert t.sample(4).dtype == np.float32
    start = read_events(tmp_path / "run" / "events.jsonl")[0]
    assert start["type"] == "start" and start["precision"] == "bf16"
    assert "precision bf16 (set in [train] precision)" in start["performance"]
    assert start["penalty_precision"] == {"fp32": "fp32", "auto": "bf16"}[penalty]
    assert {"fp32": "penalty passes fp32 (set in [train] penalty_precision)",
            "auto": "penalty passes bf16 (auto: bf16 passes on the CPU"}[penalty] in start["performance"]


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_the_penalty_is_float32_inside_autocast(dtype):
    cfg = tiny_config("digits-wgan-gp")
    _, critic = build_models(cfg, (1, 32, 32))
    g = torch.Generator().manual_seed(1)
    real, fake = torch.rand(8, 1, 32, 32, generator=g) * 2 - 1, torch.rand(8, 1, 32, 32, generator=g) * 2 - 1
    eps = torch.rand(8, 1, 1, 1, generator=g)
    plain, plain_norms = gradient_penalty_and_norms(critic, real, fake, eps=eps)
    with torch.autocast("cpu", dtype=dtype):
        gp, norms = gradient_penalty_and_norms(critic, real, fake, eps=eps)
    assert gp.dtype == norms.dtype == torch.float32
    assert torch.equal(gp, plain) and torch.equal(norms, plain_norms)  # not a bit of it in reduced precision


@pytest.mark.parametrize("preset, device, precision, setting, value, reason", [
    ("digits-wgan-gp", CPU, "bf16", "auto", "bf16", "auto: bf16 passes on the CPU"),
    ("digits-wgan-gp", CPU, "bf16", "fp32", "fp32", "set in [train] penalty_precision"),
    ("digits-wgan-gp", CUDA, "bf16", "auto", "fp32", "auto: the penalty stays float32 on cuda"),
    ("digits-wgan-gp", CUDA, "fp16", "auto", "fp32", "auto: fp16 overflows"),
    ("digits-wgan-gp", CPU, "fp32", "auto", "fp32", "auto: the passes are fp32"),
    ("mlp64-wgan-clip", CPU, "bf16", "auto", "fp32", "no gradient penalty"),
])
def test_the_penalty_passes_are_bf16_only_where_the_run_is(preset, device, precision, setting, value, reason):
    cfg = tiny_config(preset, train__precision=precision, train__penalty_precision=setting)
    perf = resolve_performance(cfg, device, image=True, caps=Capabilities(cuda_bf16=True, cpu_bf16=True))
    assert perf.penalty.value == value and perf.penalty.reason.startswith(reason)
    assert perf.penalty_dtype == {"fp32": None, "bf16": torch.bfloat16}[value]
    assert f"penalty passes {value} ({reason}" in perf.describe()
    # and the run's critic step hands the objective that dtype
    if preset.startswith("digits") and device == CPU:
        t = Trainer(cfg, None, data=ImageData("digits", *images()))
        assert t.amp.penalty_dtype == perf.penalty_dtype


def test_critic_outputs_reach_the_loss_in_float32():
    cfg = tiny_config("digits-wgan-gp", train__precision="bf16")
    t = Trainer(cfg, None, data=ImageData("digits", *images()))
    grads = t.algorithm.critic_gradients
    assert isinstance(grads, AutogradGradients) and grads.amp.dtype == torch.bfloat16
    seen = {}
    loss = t.objective.critic_loss

    def spy(f_real, f_fake, **kw):
        seen["dtypes"] = (f_real.dtype, f_fake.dtype)
        return loss(f_real, f_fake, **kw)

    t.objective.critic_loss = spy
    x, _ = t.data.sample(32, t.rng)
    out = grads(x, x.flip(0), None, 10.0)
    assert seen["dtypes"] == (torch.float32, torch.float32) and out.w_estimate.dtype == torch.float32


FP16 = dict(train__precision="fp16", train__batch_size=16, model__features=4)  # fp16 convolutions are slow on a CPU


def test_fp16_gradient_scalers_train_and_resume_exactly(tmp_path):
    straight = digits_trainer(tmp_path / "straight", **FP16)
    straight.run()
    part = digits_trainer(tmp_path / "part", **FP16)
    part.run(iterations=2)
    saved = load_checkpoint(tmp_path / "part" / "checkpoints" / "latest.pt")["grad_scalers"]
    # the scalers did work: the first steps overflowed at the initial scale 2^16 and were skipped
    assert saved["critic"]["scale"] < 2.0 ** 16
    resumed = Trainer.resume_run(tmp_path / "part", iterations=4,
                                 data=ImageData("digits", *images()))
    assert resumed.amp.critic_scaler.state_dict() == saved["critic"]
    assert resumed.amp.generator_scaler.state_dict() == saved["generator"]
    resumed.run()
    m = read_metrics(tmp_path / "straight" / "metrics.csv")
    assert np.isfinite(m["w_estimate"]).all() and np.isfinite(m["critic_loss"]).all()
    assert csv_without_wall_time(tmp_path / "straight" / "metrics.csv") == csv_without_wall_time(
        tmp_path / "part" / "metrics.csv")
    for p, q in zip(straight.critic.parameters(), resumed.critic.parameters(), strict=True):
        assert torch.equal(p, q)
    assert straight.amp.critic_scaler.state_dict() == resumed.amp.critic_scaler.state_dict()


def test_fp16_steps_the_scaler_skips_are_not_a_nan_rollback(tmp_path):
    t = digits_trainer(tmp_path / "run", train__iterations=3, train__checkpoint_every=1, **FP16)
    # a scale so large that every scaled gradient overflows fp16: the scaler skips every step
    t.amp.critic_scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 40)
    t.amp.generator_scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 40)
    before = [p.detach().clone() for p in t.critic.parameters()]
    t.run()
    assert t.state == "finished" and t.nonfinite is None  # not paused, not rolled back
    assert "nonfinite" not in [e["type"] for e in read_events(tmp_path / "run" / "events.jsonl")]
    assert all(torch.equal(p, q) for p, q in zip(t.critic.parameters(), before, strict=True))  # skipped
    assert t.amp.critic_scaler.get_scale() == 2.0 ** (40 - 15)  # halved at each of the 3 x 5 critic steps
    m = read_metrics(tmp_path / "run" / "metrics.csv")
    assert np.isnan(m["critic_grad_norm"]).all()  # a skipped step's norm is no measurement
    assert np.isfinite(m["w_estimate"]).all()


def test_checkpoints_and_configs_from_before_the_device_settings_still_load(tmp_path):
    t = digits_trainer(tmp_path / "run", train__precision="fp32", train__iterations=2)
    t.run()
    latest = tmp_path / "run" / "checkpoints" / "latest.pt"
    state = load_checkpoint(latest)
    assert state["grad_scalers"] is None  # fp32: no scalers
    del state["grad_scalers"]
    for key in ("precision", "channels_last", "cudnn_benchmark", "pin_memory"):
        del state["config"]["train"][key]
    save_checkpoint(state, latest)
    cfg_text = (tmp_path / "run" / "config.toml").read_text()
    (tmp_path / "run" / "config.toml").write_text(
        "\n".join(line for line in cfg_text.splitlines()
                  if line.split(" =")[0] not in ("precision", "channels_last", "cudnn_benchmark", "pin_memory")))
    resumed = Trainer.resume_run(tmp_path / "run", iterations=3, data=ImageData("digits", *images()))
    assert resumed.gen_iter == 2 and resumed.config.train.precision == "auto"
    resumed.run()
    assert resumed.gen_iter == 3 and resumed.state == "finished"


# ============================================================================ channels-last

def test_channels_last_networks_compute_what_nchw_networks_do():
    cfg = tiny_config("dcgan64-wgan-gp", data__image_size=32)
    gen, critic = build_models(cfg, (3, 32, 32))
    gen_cl = copy.deepcopy(gen).to(memory_format=torch.channels_last)
    critic_cl = copy.deepcopy(critic).to(memory_format=torch.channels_last)
    assert critic_cl.net[2].weight.is_contiguous(memory_format=torch.channels_last)
    g = torch.Generator().manual_seed(2)
    x = torch.rand(16, 3, 32, 32, generator=g) * 2 - 1
    z = torch.randn(16, cfg.model.z_dim, generator=g)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(critic_cl(x_cl), critic(x), rtol=1e-5, atol=1e-5)
    gen.eval()
    gen_cl.eval()
    torch.testing.assert_close(gen_cl(z), gen(z), rtol=1e-5, atol=1e-5)
    eps = torch.rand(16, 1, 1, 1, generator=g)
    gp, norms = gradient_penalty_and_norms(critic, x, x.flip(0), eps=eps)
    gp_cl, norms_cl = gradient_penalty_and_norms(critic_cl, x_cl, x_cl.flip(0), eps=eps)
    torch.testing.assert_close(gp_cl, gp, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(norms_cl, norms, rtol=1e-4, atol=1e-6)


def test_a_channels_last_run_trains_in_that_layout_and_samples_plain_arrays():
    cfg = tiny_config("dcgan64-wgan-gp", data__image_size=32, data__holdout=0.0, train__channels_last="on",
                      train__precision="fp32", train__iterations=2, train__checkpoint_every=0,
                      train__sample_every=0, train__eval_every=0)
    t = Trainer(cfg, None, data=ImageData("folder", images(channels=3)[0]))
    assert t.critic.net[2].weight.is_contiguous(memory_format=torch.channels_last)
    x, _ = t.data.sample(4, t.rng)
    assert x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    t.run()
    assert all(torch.isfinite(p).all() for p in t.critic.parameters())
    pictures = t.sample(4)
    assert pictures.shape == (4, 3, 32, 32) and pictures.flags.c_contiguous  # what PNG writers expect
    assert t.sample_payload()["images"].flags.c_contiguous


# ============================================================================ where the images live

@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_host_resident_images_give_the_batches_device_resident_ones_do(layout):
    imgs, labels = images(channels=3)
    on_device = ImageData("x", imgs, labels, resident="device")
    on_host = ImageData("x", imgs, labels, resident="host")
    assert on_device.resident == "device" and on_host.resident == "host"
    assert not on_host.pinned  # no CUDA here: the CPU trains from host memory, nothing to pin
    for d in (on_device, on_host):
        d.memory_format = layout
    ga, gb = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    for n in (7, 32, 32):
        (xa, ya), (xb, yb) = on_device.sample(n, ga), on_host.sample(n, gb)
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
        assert xb.is_contiguous(memory_format=layout) and xb.dtype == torch.float32
        assert -1.0 <= float(xb.min()) and float(xb.max()) <= 1.0
    train, held = on_host.split(0.25, seed=3)
    train_d, held_d = on_device.split(0.25, seed=3)
    assert train.resident == "host" and torch.equal(train.images, train_d.images.cpu())
    assert torch.equal(held.labels, held_d.labels)


def test_a_run_on_host_resident_images_is_the_same_run(tmp_path):
    runs = [digits_trainer(resident=r, train__precision="fp32", train__iterations=2, train__checkpoint_every=0,
                           data__holdout=0.1) for r in ("device", "host")]
    for t in runs:
        t.run()
    assert runs[1].data.resident == "host"
    for p, q in zip(runs[0].critic.parameters(), runs[1].critic.parameters(), strict=True):
        assert torch.equal(p, q)
    assert runs[0].critic_on_real() == runs[1].critic_on_real()  # the held-out probes too


def test_images_stay_on_a_gpu_only_below_half_its_free_memory(monkeypatch):
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (1000, 4000))
    assert fits_on_device(500, CUDA) and not fits_on_device(501, CUDA)
    assert fits_on_device(10 ** 15, CPU) and fits_on_device(10 ** 15, MPS)  # the host's memory either way


# ============================================================================ what the user sees

def test_the_start_line_says_which_precision_and_why(tmp_path):
    from engine.cli import train_main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = train_main(["--preset", "digits-wgan-gp", "--out", str(tmp_path / "run"), "--iters", "1",
                           "--device", "cpu", "--set", "model.features=4", "--set", "train.batch_size=8",
                           "--set", "train.eval_every=0", "--set", "train.sample_every=0"])
    assert code == 0, err.getvalue()
    start = next(line for line in err.getvalue().splitlines() if "] start on cpu: " in line)
    expected = ("precision bf16 (auto: CPU with native bf16)" if cpu_has_native_bf16()
                else "precision fp32 (auto: this CPU has no native bf16)")
    assert expected in start and "channels-last" in start


@pytest.mark.skipif(torch.cuda.is_available(), reason="with a GPU the benchmark measures instead")
def test_the_gpu_benchmark_without_a_gpu_says_so_and_succeeds(capsys):
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu.py"
    spec = importlib.util.spec_from_file_location("gpu_benchmark", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main([]) == 0
    assert "no CUDA GPU on this machine" in capsys.readouterr().out
