"""What can be configured: the five sections of a run's configuration, every key with its
default, type, allowed range or set, help text and (where the papers name it) the paper's symbol.

:class:`Config` holds the values; :data:`SCHEMA` describes every key (the studio builds its form
from it, :mod:`engine.config.checks` checks values against it, docs' configuration reference is
generated from it). :data:`LIVE_KEYS` names the parameters a running trainer accepts.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
# [train] best_by: an evaluated metrics column (engine.rundir.EVAL_COLUMNS less spreads and the critic's means)
BEST_BY = ("auto", "w1_exact", "modes_covered", "high_quality_share", "sliced_w", "frechet_distance", "kid",
           "inception_fid", "inception_kid", "classes_hit", "class_kl", "confident_share")

# Parameters the trainer accepts while running (Trainer.request_edit).
LIVE_KEYS = {
    "clip_value": ("objective", "clip_value"),
    "gp_lambda": ("objective", "gp_lambda"),
    "n_critic": ("objective", "n_critic"),
    "lr_critic": ("optimiser", "lr_critic"),
    "lr_generator": ("optimiser", "lr_generator"),
}


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
    # At most 1: an Adam or RMSProp step moves each weight by about the learning rate, so a rate
    # above 1 moves every weight by more than its own scale at every step (1e6 was a typo's reach).
    lr_critic: float = spec(1e-4, "Critic learning rate.", symbol="α_D", min=0.0,
                            min_exclusive=True, max=1.0, log=True, live=True)
    lr_generator: float = spec(1e-4, "Generator learning rate.", symbol="α_G", min=0.0,
                               min_exclusive=True, max=1.0, log=True, live=True)
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
    best_by: str = spec("auto", "The evaluated metrics column that chooses checkpoints/best.pt, in its own direction "
                        "(lower is better, except modes_covered, high_quality_share, classes_hit and "
                        "confident_share). 'auto': exact W1 on 2-D sets, the Fréchet distance on images. The "
                        "column must be one the run's data evaluates (docs/guide/quality.md).", choices=BEST_BY)
    inception_weights: str = spec("", "Image sets: the standard FID Inception-v3 weights file "
                                  "(pt_inception-2015-12-05-6726825d.pth, as pytorch-fid and torch-fidelity use; "
                                  "never downloaded: fetch it yourself). When set, each evaluation also logs FID and "
                                  "KID in its features (inception_fid, inception_kid), comparable with published "
                                  "figures; the file is checked against the known SHA-256 and refused otherwise. "
                                  "Needs the 'fid' extra. Empty = off. Relative paths are resolved against the "
                                  "config file's folder.", kind="path")
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
        return self.resolved_path(self.data.path)

    def resolved_path(self, value: str, key: str = "[data] path") -> Path | None:
        """A path key's value (``[data] path``, ``[train] inception_weights``), relative ones
        against the config file's folder; None when empty."""
        if not value:
            return None
        from .paths import local_path  # a path written on any system (docs/guide/platforms.md)
        p = local_path(value, file=self.source, key=key)
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
        lo = "-inf" if self.min is None else _number_text(self.min)
        hi = "inf" if self.max is None else _number_text(self.max)
        left = "(" if self.min_exclusive else "["
        what = {int: "an integer", float: "a number", str: "a string", tuple: f"a list of {self.length} numbers"}
        if self.type is str:
            return "a string"
        each = " each" if self.type is tuple else ""
        return f"{what[self.type]}{each} in {left}{lo}, {hi}]"


def _number_text(x: float) -> str:
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

