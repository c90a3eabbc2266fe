"""Device choice (``auto`` picks cuda, then mps, then cpu) and how a run uses the device.

:func:`resolve_performance` turns the ``[train]`` keys ``precision``, ``channels_last``,
``cudnn_benchmark`` and ``pin_memory`` into what the run actually does on its device, each with
the reason (``"precision bf16 (auto: CPU with native bf16)"``). It is the one place these choices
are made: the trainer applies them and records them in its "start" event, which the command line
and the studio's log print.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import Config, ConfigError
from .objective_traits import traits


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("CUDA is not available on this machine", key="[train] device", value=name,
                          allowed="'auto', 'cpu'")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("Apple MPS is not available on this machine", key="[train] device", value=name,
                          allowed="'auto', 'cpu'")
    return torch.device(name)


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


# ============================================================================ capabilities

@dataclass(frozen=True)
class Capabilities:
    """What the device can do that the choices depend on (tests inject their own)."""

    cuda_bf16: bool = False   # torch.cuda.is_bf16_supported(): Ampere or newer
    cpu_bf16: bool = False    # native bf16 instructions (AVX512-BF16 / AMX, or Arm BF16) that oneDNN uses

    @classmethod
    def probe(cls, device: torch.device) -> Capabilities:
        if device.type == "cuda":
            return cls(cuda_bf16=bool(torch.cuda.is_bf16_supported()))
        if device.type == "cpu":
            return cls(cpu_bf16=cpu_has_native_bf16())
        return cls()


def cpu_has_native_bf16() -> bool:
    """oneDNN's own test for bf16 instructions (AVX512-BF16, AMX-BF16 or Arm's BF16): without
    them bf16 is emulated and runs slower than fp32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a build without oneDNN
        return False


# ============================================================================ the choices

PRECISION_DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}

# Channels-last against NCHW on the CPU, measured by benchmarks/channels_last.py: the digits preset's
# DCGAN-32 critic and generator, batch 64, WGAN-GP with n_critic 5 and the penalty in fp32, trained
# by the engine itself, four trainers in one process (fp32/bf16 x NCHW/channels-last), interleaved
# repeats of one generator iteration each, median it/s. Xeon with AVX512-BF16, torch 2.13.0+cpu,
# 1 thread (the 2-core machine was shared with 3-8 other busy processes: with 2 threads the runs
# did not finish in 2 minutes), three runs:
#   run 1 (5 repeats): fp32 NCHW 0.797, channels-last 0.847 (1.06x); bf16 NCHW 0.971, channels-last 1.108 (1.14x)
#   run 2 (8 repeats): fp32 NCHW 0.874, channels-last 0.970 (1.11x); bf16 NCHW 1.176, channels-last 1.179 (1.00x)
#   run 3 (8 repeats): fp32 NCHW 1.186, channels-last 1.291 (1.09x); bf16 NCHW 1.503, channels-last 1.615 (1.07x)
# Channels-last was never slower: on in both. fp16 on the CPU (emulated, no scaler-free path) was not
# measured: off.
CPU_CHANNELS_LAST = {"fp32": True, "bf16": True}


@dataclass(frozen=True)
class Choice:
    """One resolved setting: what the run does (``value``) and why (``reason``)."""

    value: str
    reason: str
    warning: str | None = None  # the user asked for something the run cannot do; it says what it does instead

    def describe(self, name: str) -> str:
        return f"{name} {self.value} ({self.reason})"


@dataclass(frozen=True)
class Performance:
    """How a run uses its device; see :func:`resolve_performance`."""

    device_type: str
    precision: Choice
    penalty: Choice  # the critic's passes at the penalty's interpolates
    channels_last: Choice
    cudnn_benchmark: Choice
    pin_memory: Choice

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        """The dtype of the network passes (None: float32, no autocast)."""
        return PRECISION_DTYPES[self.precision.value]

    @property
    def penalty_dtype(self) -> torch.dtype | None:
        """The dtype of the critic's passes at the penalty's interpolates (None: float32)."""
        return PRECISION_DTYPES[self.penalty.value]

    @property
    def grad_scaler(self) -> bool:
        """fp16 needs a gradient scaler per optimiser (its gradients underflow without one)."""
        return self.precision.value == "fp16"

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last.value == "on" else torch.contiguous_format

    def describe(self) -> str:
        """``"precision bf16 (auto: CPU with native bf16), channels-last off (...), ..."``"""
        return ", ".join(c.describe(n) for n, c in self._named())

    def _named(self) -> tuple[tuple[str, Choice], ...]:
        return (("precision", self.precision), ("penalty passes", self.penalty),
                ("channels-last", self.channels_last), ("cuDNN autotuning", self.cudnn_benchmark),
                ("pinned batches", self.pin_memory))

    @property
    def warnings(self) -> list[str]:
        return [c.warning for _, c in self._named() if c.warning]

    def as_event(self) -> dict:
        """The fields of the "start" event."""
        return {"precision": self.precision.value, "penalty_precision": self.penalty.value,
                "channels_last": self.channels_last.value == "on", "performance": self.describe()}


def resolve_precision(setting: str, device_type: str, *, conv: bool, image: bool, hand_derived: bool,
                      caps: Capabilities) -> Choice:
    """``[train] precision`` -> fp32, bf16 or fp16, with the reason.

    - the hand-derived MLP penalty step (engine.objectives.mlp_gp) is fp32 only: the run stays fp32;
    - 2-D point sets stay fp32 under auto: bf16's spacing near 1.4 (2^-7 ~ 0.008) is half the
      standard deviation of the 8-Gaussians modes (0.014), so the points themselves would be coarse;
    - CUDA: bf16 where the GPU has it (no scaler needed), else fp16 (with gradient scalers);
    - CPU: bf16 for convolutional networks when the CPU has native bf16 (oneDNN runs the
      convolutions about 1.5x faster on the digits preset); the MLPs' matmuls stay fp32;
    - MPS: fp32 (mixed precision on Apple GPUs is not measured here; set it to try)."""
    if hand_derived:
        warning = None
        if setting not in ("auto", "fp32"):
            warning = (f"[train] precision = {setting!r} is not used: the hand-derived MLP penalty step of this "
                       "run computes in fp32 only")
        return Choice("fp32", "the hand-derived MLP penalty step is fp32 only", warning)
    if setting != "auto":
        return Choice(setting, "set in [train] precision")
    if not image:
        return Choice("fp32", "auto: 2-D points keep full precision")
    if device_type == "cuda":
        if caps.cuda_bf16:
            return Choice("bf16", "auto: CUDA with bf16")
        return Choice("fp16", "auto: CUDA without bf16, fp16 with gradient scaling")
    if device_type == "cpu":
        if not conv:
            return Choice("fp32", "auto: MLP networks train in fp32 on the CPU")
        if caps.cpu_bf16:
            return Choice("bf16", "auto: CPU with native bf16")
        return Choice("fp32", "auto: this CPU has no native bf16")
    return Choice("fp32", f"auto: fp32 on {device_type}")


def resolve_penalty(setting: str, precision: str, device_type: str, *, penalty: bool) -> Choice:
    """``[train] penalty_precision`` -> the number format of the critic's passes at the gradient
    penalty's interpolates (its forward and the backward that gives the input gradient; the
    gradient, its norms and the penalty are float32 whatever this says).

    - 'fp32': float32, as the paper computed it;
    - 'auto' on the CPU: bf16 when the run's passes are bf16. bfloat16 keeps float32's exponent
      range, so the penalty's gradients cannot overflow (the fp16 trap of docs/algorithm.md,
      "Numerics", StudioGAN #175, is a range problem); on the digits preset it makes the penalty
      ~1.6x cheaper on a CPU with native bf16, the input-gradient norms differ from float32's by
      under 1%, and the FD curves over 3 seeds matched float32's (benchmarks/RESULTS.md, fifth
      session);
    - 'auto' elsewhere: float32. On CUDA the GPU path keeps the penalty in float32 around the
      mixed-precision passes, and bf16 penalty passes have been measured only on the CPU."""
    if not penalty:
        return Choice("fp32", "no gradient penalty in this run")
    if setting == "fp32":
        return Choice("fp32", "set in [train] penalty_precision")
    if precision == "fp16":
        return Choice("fp32", "auto: fp16 overflows in the penalty's double backward")
    if precision != "bf16":
        return Choice("fp32", "auto: the passes are fp32")
    if device_type == "cpu":
        return Choice("bf16", "auto: bf16 passes on the CPU, with float32's range")
    return Choice("fp32", f"auto: the penalty stays float32 on {device_type}")


def resolve_channels_last(setting: str, device_type: str, *, conv: bool, precision: str) -> Choice:
    """``[train] channels_last`` -> on or off: never for MLPs; auto on CUDA for convolutional
    networks, and on the CPU where :data:`CPU_CHANNELS_LAST` says it measured faster."""
    if not conv:
        warning = None
        if setting == "on":
            warning = "[train] channels_last = 'on' is not used: MLP networks have no image layout"
        return Choice("off", "MLP networks have no image layout", warning)
    if setting != "auto":
        return Choice(setting, "set in [train] channels_last")
    if device_type == "cuda":
        return Choice("on", "auto: convolutions on CUDA")
    if device_type == "cpu":
        if precision not in CPU_CHANNELS_LAST:
            return Choice("off", f"auto: not measured on the CPU in {precision}")
        if CPU_CHANNELS_LAST[precision]:
            return Choice("on", f"auto: measured no slower on the CPU in {precision}")
        return Choice("off", f"auto: measured slower on the CPU in {precision}")
    return Choice("off", f"auto: off on {device_type}")


def resolve_cudnn_benchmark(setting: bool, device_type: str) -> Choice:
    """cuDNN autotuning is a CUDA setting: nothing is set on other devices."""
    if device_type != "cuda":
        return Choice("off", f"no cuDNN on {device_type}")
    return Choice("on" if setting else "off", "[train] cudnn_benchmark")


def resolve_pin_memory(setting: bool, device_type: str) -> Choice:
    """Pinned (page-locked) host memory speeds up host-to-GPU copies; it means nothing without
    CUDA (the CPU trains from the host memory itself, and MPS shares it)."""
    if device_type != "cuda":
        return Choice("off", f"nothing to copy to a GPU on {device_type}")
    return Choice("on" if setting else "off", "[train] pin_memory, for image sets kept on the host")


def resolve_performance(cfg: Config, device: torch.device, *, image: bool, hand_derived: bool = False,
                        caps: Capabilities | None = None) -> Performance:
    """What the run does on ``device`` for ``cfg``'s [train] precision, penalty_precision,
    channels_last, cudnn_benchmark and pin_memory. ``image``: the data are images (not 2-D points);
    ``hand_derived``: the critic's gradients come from :mod:`engine.objectives.mlp_gp`; ``caps``:
    the device's capabilities (default: probed)."""
    t = cfg.train
    kind = device.type
    caps = caps if caps is not None else Capabilities.probe(device)
    conv = cfg.model.arch == "dcgan"
    precision = resolve_precision(t.precision, kind, conv=conv, image=image, hand_derived=hand_derived, caps=caps)
    return Performance(
        device_type=kind,
        precision=precision,
        penalty=resolve_penalty(t.penalty_precision, precision.value, kind,
                                penalty=traits(cfg.objective.kind).uses_penalty),
        channels_last=resolve_channels_last(t.channels_last, kind, conv=conv, precision=precision.value),
        cudnn_benchmark=resolve_cudnn_benchmark(t.cudnn_benchmark, kind),
        pin_memory=resolve_pin_memory(t.pin_memory, kind))


def apply_cudnn_benchmark(choice: Choice, device: torch.device) -> None:
    """Set ``torch.backends.cudnn.benchmark`` for a CUDA run (a process-wide switch); nothing
    elsewhere."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = choice.value == "on"
