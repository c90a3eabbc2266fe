"""Run configuration: typed sections, TOML load/validate/save.

Every key has a default, a type, an allowed range or set, a help text and (where the papers
name it) the paper's symbol. The studio builds its form from :data:`SCHEMA`; the command line
and the trainer use :func:`load_config` / :func:`config_from_dict`. Any bad input raises
:class:`ConfigError`, which names the file, the key, the bad value and what is allowed.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from .io import unreadable_reason
from .objective_traits import OBJECTIVE_TRAITS

CONFIG_VERSION = 1
MAX_CONFIG_BYTES = 1 << 20  # a configuration is a few kB; anything this large is not one

SECTIONS = ("data", "model", "objective", "optimiser", "train")

TOY_DATASETS = ("8gaussians", "25gaussians", "swissroll", "parallel-lines", "points")
IMAGE_DATASETS = ("digits", "folder", "mnist", "cifar10", "npz")
DATASETS = TOY_DATASETS + IMAGE_DATASETS
DATASETS_WITH_PATH = ("points", "folder", "mnist", "cifar10", "npz")
OBJECTIVES = ("wgan-gp", "wgan-clip", "gan", "f-gan")
DIVERGENCES = ("kl", "reverse-kl", "js", "pearson", "hellinger")  # f-gan, Nowozin et al. Table 2
ARCHS = ("mlp", "dcgan")
CONDITIONAL = ("none", "concat", "projection")
# Data sets that never carry class labels (conditional training is refused on them at once);
# mnist (without its labels file), npz (without a 'labels' array), points (without a mode
# column) are checked when loaded.
UNLABELLED_DATASETS = ("swissroll", "parallel-lines", "folder")
LABELLED_DATASETS_TEXT = ("8gaussians and 25gaussians (the mixture component), points with a mode column, digits, "
                          "cifar10, mnist with its labels file, npz with a 'labels' array")
NORMS = ("none", "layer", "batch")
OPTIMISERS = ("adam", "rmsprop")
DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
SWITCHES = ("auto", "on", "off")

# Parameters the trainer accepts while running (Trainer.request_edit).
LIVE_KEYS = {
    "clip_value": ("objective", "clip_value"),
    "gp_lambda": ("objective", "gp_lambda"),
    "n_critic": ("objective", "n_critic"),
    "lr_critic": ("optimiser", "lr_critic"),
    "lr_generator": ("optimiser", "lr_generator"),
}


class ConfigError(ValueError):
    """A configuration value that cannot be used. ``str(err)`` is the user-facing message.

    One error names one key; :meth:`combine` makes one error of several (``errors`` lists them,
    the first one's fields stand for the whole), so a user fixes a file in one go."""

    def __init__(self, problem: str, *, file: str | os.PathLike | None = None,
                 key: str | None = None, value: Any = None, allowed: str | None = None):
        self.problem = problem
        self.file = str(file) if file is not None else None
        self.key = key
        self.value = value
        self.allowed = allowed
        self.errors: list[ConfigError] = [self]
        super().__init__(self._format())

    @classmethod
    def combine(cls, errors: list[ConfigError]) -> ConfigError:
        """One error for all of ``errors`` (at least one): the message lists every one, a line each."""
        errors = [one for e in errors for one in e.errors]
        if len(errors) == 1:
            return errors[0]
        first = errors[0]
        out = cls(first.problem, file=first.file, key=first.key, value=first.value, allowed=first.allowed)
        out.errors = errors
        where = f" in {first.file}" if first.file and all(e.file == first.file for e in errors) else ""
        out.args = (f"{len(errors)} problems{where}:\n" + "\n".join(f"  {e._format()}" for e in errors),)
        return out

    def _format(self) -> str:
        parts = []
        if self.file:
            parts.append(f"{self.file}:")
        if self.key:
            parts.append(f"{self.key} = {self.value!r}:" if self.value is not None else f"{self.key}:")
        parts.append(self.problem)
        msg = " ".join(parts)
        if self.allowed:
            msg += f" (allowed: {self.allowed})"
        return msg

    def with_file(self, file) -> ConfigError:
        return ConfigError.combine([ConfigError(e.problem, file=file, key=e.key, value=e.value, allowed=e.allowed)
                                    for e in self.errors])


def spec(default, help: str, *, symbol: str = "", unit: str = "", choices: tuple = (),
         min: float | None = None, max: float | None = None, min_exclusive: bool = False,
         log: bool = False, live: bool = False, kind: str | None = None, length: int | None = None):
    """A dataclass field with the metadata the validator and the studio's form use."""
    meta = dict(help=help, symbol=symbol, unit=unit, choices=choices, min=min, max=max,
                min_exclusive=min_exclusive, log=log, live=live, kind=kind, length=length)
    if isinstance(default, (list, tuple)):
        return field(default_factory=lambda d=tuple(default): d, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class DataConfig:
    name: str = spec("8gaussians", "Data set. Toy sets are generated on the fly; image sets are loaded "
                     "once and kept on the device (on the host when they would take more than half of a GPU's "
                     "free memory: see [train] pin_memory).", choices=DATASETS)
    path: str = spec("", "File or folder of the data set (points, folder, mnist, cifar10, npz). Relative paths "
                     "are resolved against the config file's folder.", kind="path")
    image_size: int = spec(32, "Images are centre-cropped and resized to this many pixels a side.",
                           unit="px", choices=(8, 16, 32, 64))
    channels: int = spec(0, "Colour channels: 1 grey, 3 RGB, 0 = as stored in the data set.",
                         choices=(0, 1, 3))
    theta: float = spec(1.0, "Example 1 of the WGAN paper: the real line sits at x = theta.",
                        symbol="θ", min=-10.0, max=10.0)
    holdout: float = spec(0.05, "Image sets: the share of the real images kept out of training (chosen from the seed), "
                          "on which the critic's mean value is compared with its value on training images at each "
                          "evaluation: a growing gap is the critic overfitting (Gulrajani et al. sec. 5.6). Toy sets "
                          "draw fresh points for every batch and keep nothing out. 0 = off.",
                          min=0.0, max=0.5)


@dataclass
class ModelConfig:
    arch: str = spec("mlp", "Network family for both nets: MLP (toy sets, the paper's MLP generator) or "
                     "DCGAN (images, 32 or 64 px).", choices=ARCHS)
    z_dim: int = spec(2, "Dimension of the generator's noise z ~ N(0, I).", symbol="dim z", min=1, max=1024)
    hidden: int = spec(512, "MLP width (units per hidden layer).", min=1, max=8192)
    layers: int = spec(3, "MLP depth (hidden layers).", min=1, max=16)
    features: int = spec(64, "DCGAN base width (ngf = ndf; channels of the widest critic layer / 8).",
                         min=1, max=1024)
    critic_norm: str = spec("none", "Normalisation in the critic. Batch-norm couples the samples of a "
                            "batch and is refused with the gradient penalty.", choices=NORMS)
    generator_norm: str = spec("batch", "Normalisation in the generator (DCGAN and MLP).",
                               choices=("none", "batch"))
    init: str = spec("normal", "Weight initialisation: 'normal' draws weights from N(0, 0.02) with zero biases "
                     "(DCGAN's weights_init, also used by the PyTorch port of the WGAN-GP toy code); "
                     "'pytorch' keeps PyTorch's default (Kaiming-uniform); 'mixed': 'normal' for the "
                     "generator and the critic's input layer, PyTorch's default for the critic's deeper "
                     "layers (keeps the W-estimate following W1 early in toy-wgan-gp).",
                     choices=("normal", "pytorch", "mixed"))
    ema_decay: float = spec(0.0, "Moving average of the generator's weights (Yazici et al. 2019, 'The unusual "
                            "effectiveness of averaging in GAN training'): after each generator step the average "
                            "moves towards the weights by 1 - min(decay, (1 + t) / (10 + t)) at iteration t. "
                            "Samples, quality metrics and exports use the average; training itself is unchanged "
                            "(the critic trains against the current generator). 0 = off.",
                            symbol="β_EMA", min=0.0, max=0.9999)
    conditional: str = spec("none", "Conditional training on labelled data: the class label y goes to both nets, "
                            "with any objective (gan = conditional GAN, wgan-gp = conditional WGAN-GP). The "
                            "generator gets a learned label embedding next to z. 'concat': the critic gets the "
                            "label embedding concatenated to its input (extra constant channels for DCGAN; "
                            "Mirza & Osindero 2014); 'projection': f(x, y) = psi(phi(x)) + <embed(y), phi(x)> "
                            "(Miyato & Koyama 2018). Needs a data set with labels.", choices=CONDITIONAL)


@dataclass
class ObjectiveConfig:
    kind: str = spec("wgan-gp", "Training objective: WGAN-GP (Gulrajani et al.), WGAN with weight "
                     "clipping (Arjovsky et al. Algorithm 1), the non-saturating GAN, or an f-GAN "
                     "(Nowozin et al.).", choices=OBJECTIVES)
    divergence: str = spec("kl", "f-gan: the f-divergence the critic estimates (KL, reverse KL, Jensen-Shannon, "
                           "Pearson chi-squared, squared Hellinger), with the output activation and conjugate "
                           "of Nowozin et al. Table 2.", choices=DIVERGENCES)
    fgan_generator: str = spec("trick", "f-gan generator loss: 'trick' maximises mean g_f(V(g(z))) (the "
                               "paper's practical, non-saturating choice); 'minimax' minimises "
                               "-mean f*(g_f(V(g(z)))).", choices=("trick", "minimax"))
    n_critic: int = spec(5, "Critic updates per generator update.", symbol="n_critic", min=1, max=1000,
                         live=True)
    clip_value: float = spec(0.01, "Weight clipping bound: every critic parameter is clipped to [-c, c] "
                             "(wgan-clip). Paper default 0.01.", symbol="c", min=0.0, min_exclusive=True,
                             max=10.0, log=True, live=True)
    gp_lambda: float = spec(10.0, "Gradient-penalty weight (wgan-gp). Paper default 10; 0.1 for the toy "
                            "sets.", symbol="λ", min=0.0, max=1e4, log=True, live=True)
    warmup: bool = spec(False, "Reference-code schedule: n_critic = 100 for the first 25 generator "
                        "iterations and every 500th one (wgan-clip).")
    clip_before_step: bool = spec(False, "Reference-code order: clip before each critic step instead of "
                                  "after it (wgan-clip).")


@dataclass
class OptimiserConfig:
    name: str = spec("adam", "Optimiser for both nets. The paper uses RMSProp with clipping (momentum "
                     "destabilises it) and Adam with the gradient penalty.", choices=OPTIMISERS)
    lr_critic: float = spec(1e-4, "Critic learning rate.", symbol="α_D", min=0.0, min_exclusive=True,
                            max=1e6, log=True, live=True)
    lr_generator: float = spec(1e-4, "Generator learning rate.", symbol="α_G", min=0.0, min_exclusive=True,
                               max=1e6, log=True, live=True)
    betas: tuple = spec((0.5, 0.9), "Adam's (β1, β2). Gulrajani et al.: (0, 0.9).", symbol="β",
                        min=0.0, max=1.0, kind="pair", length=2)
    rmsprop_alpha: float = spec(0.99, "RMSProp smoothing constant.", min=0.0, max=1.0, min_exclusive=True)
    eps: float = spec(1e-8, "Optimiser epsilon.", min=0.0, min_exclusive=True, max=1.0, log=True)


@dataclass
class TrainConfig:
    iterations: int = spec(2000, "Generator iterations to train.", min=1, max=100_000_000)
    batch_size: int = spec(256, "Samples per batch (m).", symbol="m", min=1, max=65536)
    seed: int = spec(0, "Random seed: the same config and seed give the same run on the CPU.",
                     min=0, max=2**63 - 1)
    device: str = spec("auto", "Where to train: auto picks cuda, then mps, then cpu.", choices=DEVICES)
    checkpoint_every: int = spec(200, "Write checkpoints/iter_NNNNNNN.pt every this many generator "
                                 "iterations (0 = only latest.pt at the end).", min=0, max=100_000_000)
    sample_every: int = spec(100, "Write a sample picture every this many generator iterations "
                             "(0 = never).", min=0, max=100_000_000)
    eval_every: int = spec(100, "Compute quality metrics (exact W1, modes) every this many generator "
                           "iterations (0 = never).", min=0, max=100_000_000)
    sample_count: int = spec(64, "Size of the fixed noise batch shown as samples (images: the grid).",
                             min=1, max=4096)
    threads: int = spec(0, "CPU threads for training. 0 = automatic: tuned while training, fewer when other programs "
                        "take cores, all of them on a quiet machine (image runs are then repeatable bit for bit only "
                        "while the count stays the same); N = exactly N.", min=0, max=1024)
    precision: str = spec("auto", "Number format of the network passes of training (the critic on real and fake "
                          "images, the generator's forward, the generator step), by torch.autocast: 'fp32'; 'bf16' "
                          "(bfloat16); 'fp16' (float16, with a gradient scaler per network whose state is kept in "
                          "checkpoints). The gradient penalty (its passes: see penalty_precision), the losses, the "
                          "weights, the optimisers, the moving "
                          "average, samples and evaluations stay float32 whatever is chosen. 'auto': on CUDA bf16 "
                          "where the GPU supports it, else fp16; on the CPU bf16 for DCGAN networks when the CPU "
                          "has native bf16 instructions, else fp32; fp32 on Apple MPS and for 2-D point sets. The "
                          "hand-derived MLP penalty step (the toy presets) always runs in fp32. The choice and its "
                          "reason are shown when the run starts.", choices=PRECISIONS)
    penalty_precision: str = spec("auto", "Number format of the critic's passes at the gradient penalty's "
                                  "interpolates (wgan-gp): the forward and the backward that gives the input "
                                  "gradient. The gradient, its norms and the penalty are float32 whatever is "
                                  "chosen. 'fp32': float32, as in the paper. 'auto': on the CPU bf16 when [train] "
                                  "precision resolves to bf16 (bfloat16 has float32's range, so the penalty cannot "
                                  "overflow; ~1.6x cheaper on a CPU with native bf16, gradient norms within 1% of "
                                  "float32's); float32 on GPUs, under fp16 (it overflows to NaN in the penalty) and "
                                  "in fp32 runs.",
                                  choices=("auto", "fp32"))
    channels_last: str = spec("auto", "Memory layout of the DCGAN networks and the image batches: 'on' = "
                              "channels-last (NHWC), which convolution libraries run faster on most hardware; "
                              "'off' = PyTorch's default (NCHW). 'auto': on for DCGAN networks on CUDA, and on the "
                              "CPU in fp32 and bf16, where it measured as fast or faster (engine.device has the "
                              "figures); off for MLP networks, which have no image layout.", choices=SWITCHES)
    cudnn_benchmark: bool = spec(True, "CUDA only: let cuDNN time its convolution algorithms on the first batches "
                                 "and keep the fastest (torch.backends.cudnn.benchmark). The batch shape never "
                                 "changes during a run, so the search is paid once. Ignored on the CPU and MPS.")
    pin_memory: bool = spec(True, "CUDA only: image sets too large to keep on the GPU stay in host memory and each "
                            "batch is gathered there into page-locked (pinned) memory, from which it is copied "
                            "to the GPU without blocking. Ignored on the CPU and MPS, and for sets kept on the "
                            "GPU.")
    tensorboard: bool = spec(False, "Also write TensorBoard event files in the run folder (tensorboard/): every "
                             "metrics column, the sample pictures, edits, pauses and the config. Needs the "
                             "tensorboard package: pip install 'wgan-studio[tensorboard]'.")


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    optimiser: OptimiserConfig = field(default_factory=OptimiserConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    description: str = ""
    config_version: int = CONFIG_VERSION
    # Not part of the TOML: where the config came from (for relative paths and messages).
    source: str | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"config_version": self.config_version}
        if self.description:
            out["description"] = self.description
        for sec in SECTIONS:
            d = dataclasses.asdict(getattr(self, sec))
            out[sec] = {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
        return out

    def copy(self) -> Config:
        return copy.deepcopy(self)

    def get(self, dotted: str):
        sec, key = dotted.split(".", 1)
        return getattr(getattr(self, sec), key)

    @property
    def is_toy(self) -> bool:
        return self.data.name in TOY_DATASETS

    def resolved_data_path(self) -> Path | None:
        if not self.data.path:
            return None
        p = Path(os.path.expanduser(self.data.path))
        if not p.is_absolute() and self.source:
            p = Path(self.source).parent / p
        return p


SECTION_TYPES = {sec: type(getattr(Config(), sec)) for sec in SECTIONS}


@dataclass(frozen=True)
class FieldInfo:
    section: str
    key: str
    type: type
    default: Any
    help: str
    symbol: str
    unit: str
    choices: tuple
    min: float | None
    max: float | None
    min_exclusive: bool
    log: bool
    live: bool
    kind: str | None
    length: int | None

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.key}"

    def allowed(self) -> str:
        if self.choices:
            return ", ".join(repr(c) if isinstance(c, str) else str(c) for c in self.choices)
        if self.type is bool:
            return "true or false"
        lo = "-inf" if self.min is None else _fmt(self.min)
        hi = "inf" if self.max is None else _fmt(self.max)
        left = "(" if self.min_exclusive else "["
        what = {int: "an integer", float: "a number", str: "a string", tuple: f"a list of {self.length} numbers"}
        if self.type is str:
            return "a string"
        each = " each" if self.type is tuple else ""
        return f"{what[self.type]}{each} in {left}{lo}, {hi}]"


def _fmt(x: float) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:g}"


def _build_schema() -> dict[str, FieldInfo]:
    out = {}
    for sec in SECTIONS:
        for f in dataclasses.fields(SECTION_TYPES[sec]):
            m = f.metadata
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            typ = {"str": str, "int": int, "float": float, "bool": bool, "tuple": tuple}[f.type]
            info = FieldInfo(sec, f.name, typ, default, m["help"], m["symbol"], m["unit"], m["choices"],
                             m["min"], m["max"], m["min_exclusive"], m["log"], m["live"], m["kind"], m["length"])
            out[info.dotted] = info
    return out


#: Every configurable key, by ``"section.key"``, in display order.
SCHEMA: dict[str, FieldInfo] = _build_schema()
#: The symbols of the live parameters, as the papers write them (c, α_D, α_G, λ), by LIVE_KEYS name.
LIVE_SYMBOLS: dict[str, str] = {name: SCHEMA[f"{sec}.{key}"].symbol or name for name, (sec, key) in LIVE_KEYS.items()}


def coerce_value(info: FieldInfo, value: Any, *, file=None) -> Any:
    """Check one value against its field; return it in canonical form or raise ConfigError."""
    def bad(problem):
        return ConfigError(problem, file=file, key=f"[{info.section}] {info.key}", value=value,
                           allowed=info.allowed())

    t = info.type
    if t is bool:
        if not isinstance(value, bool):
            raise bad("expected true or false")
        return value
    if t is str:
        if not isinstance(value, str):
            raise bad("expected a string")
        v = value
    elif t is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer() and info.choices == ():
                raise bad("expected an integer, got a number with a decimal point")
            raise bad("expected an integer")
        v = value
    elif t is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("expected a number")
        v = float(value)
        if not math.isfinite(v):
            raise bad("must be a finite number")
    elif t is tuple:
        if not isinstance(value, (list, tuple)) or len(value) != info.length:
            raise bad(f"expected a list of {info.length} numbers")
        items = []
        for x in value:
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(float(x)):
                raise bad("expected finite numbers")
            x = float(x)
            if (info.min is not None and x < info.min) or (info.max is not None and x > info.max):
                raise bad("out of range")
            items.append(x)
        return tuple(items)
    else:  # pragma: no cover - schema bug
        raise TypeError(t)
    if info.choices and v not in info.choices:
        raise bad("not one of the allowed values")
    if isinstance(v, (int, float)) and not info.choices:
        if info.min is not None and (v < info.min or (info.min_exclusive and v <= info.min)):
            raise bad("too small")
        if info.max is not None and v > info.max:
            raise bad("too large")
    return v


def live_field(key: str) -> FieldInfo:
    """The schema of live parameter ``key`` (a :data:`LIVE_KEYS` name); ConfigError for another key."""
    if key not in LIVE_KEYS:
        raise ConfigError("cannot be changed during a run", key=key, allowed=", ".join(LIVE_KEYS))
    section, name = LIVE_KEYS[key]
    return SCHEMA[f"{section}.{name}"]


def live_value(key: str, value: Any) -> float | int:
    """The one check of a live value, for every front end and the trainer: ``value`` (a number, or
    the text a user typed) as the run would take it, or ConfigError naming the key, the value and
    what is allowed."""
    info = live_field(key)
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text) if info.type is int else float(text)
        except ValueError:
            what = "an integer" if info.type is int else "a number"
            raise ConfigError(f"is not {what}", key=key, value=text, allowed=info.allowed()) from None
    try:
        return coerce_value(info, value)
    except ConfigError as e:
        raise ConfigError(e.problem, key=key, value=value, allowed=e.allowed) from None


def unused_fields(values: Config | Mapping[str, Any]) -> dict[str, str]:
    """The fields a run does not read, each with the reason (a form disables them). ``values``: a
    Config, or the values a form holds by ``"section.key"`` (only data.name, model.arch,
    objective.kind and optimiser.name are read; a missing one counts as its default)."""
    def get(dotted: str):
        return values.get(dotted) if isinstance(values, Config) else values.get(dotted, SCHEMA[dotted].default)

    name, arch, kind, optimiser = (get(k) for k in ("data.name", "model.arch", "objective.kind", "optimiser.name"))
    rules = [  # (whether the fields go unused, the fields, why)
        (name not in DATASETS_WITH_PATH, ("data.path",),
         f"data set {name!r} reads no file (a path is used by {', '.join(DATASETS_WITH_PATH)})"),
        (name in TOY_DATASETS, ("data.image_size", "data.channels", "data.holdout", "train.pin_memory"),
         f"data set {name!r} is 2-D points, not images"),
        (name != "parallel-lines", ("data.theta",), "θ places the real line of data set 'parallel-lines' only"),
        (arch != "mlp", ("model.hidden", "model.layers"), f"an MLP setting; the networks are {arch!r}"),
        (arch != "dcgan", ("model.features", "train.channels_last"), f"a DCGAN setting; the networks are {arch!r}"),
        (optimiser != "adam", ("optimiser.betas",), f"Adam's momentum; the optimiser is {optimiser!r}"),
        (optimiser != "rmsprop", ("optimiser.rmsprop_alpha",), f"RMSProp's smoothing; the optimiser is {optimiser!r}"),
    ]
    for owner in OBJECTIVE_TRAITS.values():  # the fields only one objective reads
        rules.append((owner.kind != kind, owner.own_fields,
                      f"read by the {owner.title} objective ({owner.kind!r}) only; this run's objective is {kind!r}"))
    return {key: why for unused, keys, why in rules if unused for key in keys}


def config_from_dict(raw: dict, *, file=None, base: Config | None = None) -> Config:
    """Build and validate a Config from a (TOML-shaped) dict. Missing keys take their defaults
    (or ``base``'s values); unknown keys are errors. Every problem is reported at once."""
    if not isinstance(raw, dict):
        raise ConfigError("the configuration must be a table of sections", file=file)
    cfg = base.copy() if base is not None else Config()
    cfg.source = str(file) if file is not None else (base.source if base is not None else None)
    top_allowed = ("config_version", "description") + SECTIONS
    errors: list[ConfigError] = []
    for key, value in raw.items():
        if key == "config_version":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= CONFIG_VERSION:
                errors.append(ConfigError("unsupported configuration version", file=file, key="config_version",
                                          value=value, allowed=f"1 to {CONFIG_VERSION}"))
            else:
                cfg.config_version = value
        elif key == "description":
            if not isinstance(value, str):
                errors.append(ConfigError("expected a string", file=file, key="description", value=value))
            else:
                cfg.description = value
        elif key in SECTIONS:
            if not isinstance(value, dict):
                errors.append(ConfigError("expected a table [section]", file=file, key=key, value=value))
                continue
            section = getattr(cfg, key)
            for k, v in value.items():
                info = SCHEMA.get(f"{key}.{k}")
                if info is None:
                    known = ", ".join(f.name for f in dataclasses.fields(SECTION_TYPES[key]))
                    errors.append(ConfigError("unknown key", file=file, key=f"[{key}] {k}", value=v, allowed=known))
                    continue
                try:
                    setattr(section, k, coerce_value(info, v, file=file))
                except ConfigError as e:
                    errors.append(e)
        else:
            errors.append(ConfigError("unknown key", file=file, key=str(key), value=value,
                                      allowed=", ".join(top_allowed)))
    if errors:  # the combinations are checked once every value is valid
        raise ConfigError.combine(errors)
    validate(cfg, file=file)
    return cfg


def validate(cfg: Config, *, file=None) -> list[str]:
    """Cross-field checks. Raises ConfigError for combinations that cannot train (all of them in
    one error); returns warnings for combinations that train badly but are allowed (the paper's
    own caveats)."""
    errors: list[ConfigError] = []
    for info in SCHEMA.values():  # re-check values set programmatically
        try:
            coerce_value(info, cfg.get(info.dotted), file=file)
        except ConfigError as e:
            errors.append(e)
    if errors:
        raise ConfigError.combine(errors)
    d, m, o = cfg.data, cfg.model, cfg.objective
    if d.name in DATASETS_WITH_PATH and not d.path:
        errors.append(ConfigError(f"data set {d.name!r} needs a path", file=file, key="[data] path", value=d.path,
                                  allowed="a file or folder"))
    if o.kind == "wgan-gp" and m.critic_norm == "batch":
        errors.append(ConfigError("batch-norm in the critic cannot be used with the gradient penalty: the "
                                  "penalty is per sample and batch-norm couples the samples of a batch "
                                  "(Gulrajani et al. sec. 4); use 'layer' or 'none'", file=file,
                                  key="[model] critic_norm", value=m.critic_norm, allowed="'none', 'layer'"))
    if m.conditional != "none" and d.name in UNLABELLED_DATASETS:
        errors.append(ConfigError(unlabelled_message(d.name), file=file, key="[model] conditional",
                                  value=m.conditional, allowed="'none' for this data set"))
    if m.arch == "dcgan":
        if d.name in TOY_DATASETS:
            errors.append(ConfigError("the DCGAN networks need an image data set", file=file, key="[model] arch",
                                      value=m.arch, allowed="'mlp' for toy sets"))
        elif d.image_size not in (32, 64):
            errors.append(ConfigError("the DCGAN networks are built for 32 or 64 pixels", file=file,
                                      key="[data] image_size", value=d.image_size, allowed="32, 64"))
    if errors:
        raise ConfigError.combine(errors)
    warnings = []
    if o.kind == "wgan-clip" and cfg.optimiser.name == "adam":
        warnings.append("Adam with weight clipping: the WGAN paper reports that momentum-based optimisers "
                        "destabilise clipped critics; RMSProp is recommended.")
    return warnings


def unlabelled_message(name: str) -> str:
    return (f"conditional training needs class labels and data set {name!r} has none (data sets with labels: "
            f"{LABELLED_DATASETS_TEXT})")


def load_config(path: str | os.PathLike, *, base: Config | None = None) -> Config:
    path = Path(path)
    reason = unreadable_reason(path, MAX_CONFIG_BYTES, "a .toml file")
    if reason is not None:
        raise ConfigError(reason, file=path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError("no such file", file=path) from None
    except IsADirectoryError:
        raise ConfigError("is a folder, expected a .toml file", file=path) from None
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", file=path) from None
    except OSError as e:
        raise ConfigError(f"cannot read ({e.strerror})", file=path) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"not valid TOML: {e}", file=path) from None
    return config_from_dict(raw, file=path, base=base)


def loads_config(text: str, *, file: str = "<string>") -> Config:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"not valid TOML: {e}", file=file) from None
    return config_from_dict(raw, file=None if file == "<string>" else file)


def dumps_config(cfg: Config) -> str:
    return tomli_w.dumps(cfg.to_dict())


def save_config(cfg: Config, path: str | os.PathLike) -> None:
    """Write ``cfg`` to ``path`` atomically. A data path relative to the file the config came from
    (a run's ``data/points.csv``) is written as the absolute path of that file when ``path`` is in
    another folder, so the saved config still finds its data."""
    from .io import atomic_write_bytes
    data_path = cfg.data.path and Path(os.path.expanduser(cfg.data.path))
    if (data_path and not data_path.is_absolute() and cfg.source
            and Path(cfg.source).resolve().parent != Path(path).resolve().parent):
        cfg = cfg.copy()
        cfg.data.path = str(Path(cfg.source).resolve().parent / data_path)
    atomic_write_bytes(Path(path), dumps_config(cfg).encode("utf-8"))


def parse_override(item: str) -> tuple[str, Any]:
    """Parse ``section.key=value`` from ``--set``: the value is read as TOML (so ``0.01``,
    ``true``, ``[0.5, 0.9]`` keep their types), falling back to a plain string."""
    if "=" not in item or "." not in item.split("=", 1)[0]:
        raise ConfigError("expected section.key=value", key="--set", value=item)
    dotted, text = item.split("=", 1)
    dotted = dotted.strip()
    try:
        value = tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = text.strip()
    return dotted, value


def apply_overrides(cfg: Config, items: list[str]) -> Config:
    raw: dict[str, dict] = {}
    for item in items:
        dotted, value = parse_override(item)
        sec, key = dotted.split(".", 1)
        if sec not in SECTIONS:
            raise ConfigError("unknown section", key=f"--set {dotted}", value=value,
                              allowed=", ".join(SECTIONS))
        raw.setdefault(sec, {})[key] = value
    try:
        return config_from_dict(raw, base=cfg)
    except ConfigError as e:
        raise e.with_file("--set") from None


# ----------------------------------------------------------------------------- presets

def presets_dir() -> Path:
    from importlib.resources import files
    return Path(str(files("resources") / "presets"))


def list_presets() -> dict[str, str]:
    """Preset name -> one-line description, sorted with the default first."""
    out = {}
    for p in sorted(presets_dir().glob("*.toml")):
        try:
            raw = tomllib.loads(p.read_text("utf-8"))
            out[p.stem] = str(raw.get("description", "")).strip().splitlines()[0] if raw.get("description") else ""
        except (OSError, tomllib.TOMLDecodeError):  # pragma: no cover - packaging bug
            out[p.stem] = "(unreadable preset)"
    return dict(sorted(out.items(), key=lambda kv: (kv[0] != DEFAULT_PRESET, kv[0])))


DEFAULT_PRESET = "toy-wgan-gp"


def load_preset(name: str) -> Config:
    p = presets_dir() / f"{name}.toml"
    if not p.is_file():
        raise ConfigError("no such preset", key="--preset", value=name, allowed=", ".join(list_presets()))
    cfg = load_config(p)
    cfg.source = None  # presets are templates: relative data paths resolve against the cwd
    return cfg
