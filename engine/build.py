"""Building a run: everything a :class:`~engine.trainer.Trainer` trains with, made once from the
configuration and deterministic from its seed.

:func:`build_run` makes, in this order (the order of the random draws is part of a run's
reproducibility): the data and the held-out images kept out of training, the networks and the
objective, how the run uses its device (:func:`engine.device.resolve_performance`), the moving
average of the generator, the optimisers, the run's RNG stream and the training step
(:mod:`engine.algorithm`), the fixed batches (:class:`FixedBatches`: the noise the samples show,
the evaluation sets), the metrics recorder and the evaluator. The trainer takes the result
(:class:`RunParts`) as its attributes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from .algorithm import MixedPrecision, TrainingStep, choose_critic_gradients, hand_derived_layers
from .config import LIVE_KEYS, Config, ConfigError, unlabelled_message
from .data import DataSource, make_data
from .data.toy import ToyData
from .device import Performance, apply_cudnn_benchmark, resolve_performance
from .evaluation import EVAL_POINTS, Evaluator, feature_net_for
from .models import build_models
from .models.ema import WeightAverage
from .models.mlp import set_data_scale
from .objective_traits import traits
from .objectives import Objective, get_objective
from .recorder import MetricsRecorder
from .rng import seed_everything
from .rundir import RunDir, metric_columns, uses_digit_classifier
from .sampling import MAX_GRID_CLASSES, class_rows


def make_optimiser(model: torch.nn.Module, lr: float, cfg: Config) -> torch.optim.Optimizer:
    """The configured optimiser (``[optimiser]``) over ``model``'s parameters."""
    o = cfg.optimiser
    params = list(model.parameters())
    if o.name == "adam":
        # Fused Adam: one kernel per parameter instead of ~10 elementwise passes (foreach), the
        # fastest of the three on the CPU (docs/figures.md, "Engine speed"). Same update rule; results
        # differ from foreach in the last bits, runs stay deterministic.
        try:
            return torch.optim.Adam(params, lr=lr, betas=tuple(o.betas), eps=o.eps, fused=True)
        except (RuntimeError, ValueError):  # a device without the fused kernel
            return torch.optim.Adam(params, lr=lr, betas=tuple(o.betas), eps=o.eps, foreach=True)
    return torch.optim.RMSprop(params, lr=lr, alpha=o.rmsprop_alpha, eps=o.eps, foreach=True)


# the fixed batches a checkpoint keeps (the held-out probes are drawn again from the data)
CHECKPOINTED_BATCHES = ("fixed_noise", "eval_noise", "eval_real", "display_real", "fixed_labels", "eval_labels")


@dataclass
class FixedBatches:
    """The batches a run keeps fixed from start to end (made on the CPU from the seed, so every
    device shows the same noise): the noise of the samples (``fixed_noise``, with one class per
    row in conditional runs: ``fixed_labels``), the evaluation's noise and real points
    (``eval_noise``, ``eval_real``, ``eval_labels``), the real points drawn under a toy set's
    samples (``display_real``) and the overfitting check's two sets of real images
    (``probe_heldout``, ``probe_train``: (images, labels) or None)."""

    fixed_noise: torch.Tensor
    eval_noise: torch.Tensor
    eval_real: torch.Tensor
    display_real: torch.Tensor | None
    fixed_labels: torch.Tensor | None
    eval_labels: torch.Tensor | None
    probe_heldout: tuple | None
    probe_train: tuple | None

    def by_name(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def make_fixed_batches(cfg: Config, data: DataSource, heldout: DataSource | None, device: torch.device,
                       num_classes: int, is_toy: bool) -> FixedBatches:
    seed, conditional = cfg.train.seed, num_classes > 0
    aux = torch.Generator().manual_seed(seed + 7919)
    z_dim = cfg.model.z_dim
    fixed_noise = torch.randn(cfg.train.sample_count, z_dim, generator=aux).to(device)
    eval_noise = torch.randn(EVAL_POINTS, z_dim, generator=aux).to(device)
    aux_dev = torch.Generator(device=device).manual_seed(seed + 104729)
    # The real evaluation set: for mixtures, exactly as many points per mode (a stratified sample
    # of P_r), so exact W1 is not inflated by chance imbalance between modes in the reference set.
    if isinstance(data, ToyData) and data.centres is not None:
        eval_real = data.stratified_sample(EVAL_POINTS, aux_dev)
        eval_labels = torch.arange(EVAL_POINTS, device=device) % len(data.centres)
    else:
        eval_real, eval_labels = data.sample(EVAL_POINTS, aux_dev)
    display_real = data.sample(max(cfg.train.sample_count, 512 if is_toy else 0) or 1,
                               aux_dev)[0] if is_toy else None
    # The overfitting check's two fixed sets of real images, of one size: the held-out images
    # (at most EVAL_POINTS) and as many training images (without repetition).
    probe_heldout = probe_train = None
    if heldout is not None:
        n = min(len(heldout), len(data), EVAL_POINTS)
        pick = torch.Generator().manual_seed(seed + 32452843)
        take = [torch.randperm(len(d), generator=pick)[:n].to(device) for d in (heldout, data)]
        probe_heldout, probe_train = (
            (d.batch(i), d.labels[i] if conditional and d.labels is not None else None)
            for d, i in zip((heldout, data), take, strict=True))
    # Conditional runs: the evaluation batch is generated with the real evaluation set's
    # labels; the samples show one row per class (fixed labels, kept in the checkpoint).
    fixed_labels = None
    if conditional:
        fixed_noise, fixed_labels, _ = class_rows(fixed_noise, num_classes, None if is_toy else MAX_GRID_CLASSES)
    return FixedBatches(fixed_noise, eval_noise, eval_real, display_real, fixed_labels,
                        eval_labels if conditional else None, probe_heldout, probe_train)


def image_feature_nets(cfg: Config, data: DataSource, is_toy: bool, evaluates: bool = True):
    """The feature networks of an image run's measures (engine.fitted_features.features_for) and
    its Inception-v3 features ([train] inception_weights, checked now), or ("", None) on 2-D sets
    and in a process that never evaluates (ranks other than 0 of a job: a classifier trained on
    the data set would take minutes of CPU from the training on every one of them)."""
    if is_toy or not evaluates:
        return "", None
    from .fitted_features import features_for
    from .inception import InceptionWeightsError, inception_for
    if cfg.data.name == "digits":
        net = feature_net_for("digits", data.shape[0])
    else:
        net = features_for(cfg, getattr(data, "labels", None) is not None)
    try:
        inception = inception_for(cfg)
    except InceptionWeightsError as e:
        raise ConfigError(str(e)) from None
    return net, inception


@dataclass
class RunParts:
    """What :func:`build_run` makes; the trainer's attributes of the same names."""

    data: DataSource
    heldout: DataSource | None      # [data] holdout: images never trained on (the overfitting check)
    is_toy: bool
    num_classes: int                # conditional runs: the class count; 0 unconditional
    conditional: bool
    generator: torch.nn.Module
    critic: torch.nn.Module
    objective: Objective
    performance: Performance
    warnings: list[str]
    amp: MixedPrecision
    ema: WeightAverage | None       # [model] ema_decay > 0: the moving average of the generator's weights
    # The generator samples, evaluations and exports use: the moving average of the weights when
    # there is one (averaged), else the generator. Training thread only (a step changes both).
    sampler: torch.nn.Module
    averaged: bool
    hp: dict                        # the live values (engine.config.LIVE_KEYS)
    opt_critic: torch.optim.Optimizer
    opt_generator: torch.optim.Optimizer
    rng: torch.Generator            # batches, noise and penalty epsilons: checkpointed (exact resume)
    algorithm: TrainingStep
    columns: tuple[str, ...]        # metrics.csv's columns
    recorder: MetricsRecorder
    evaluator: Evaluator
    batches: FixedBatches           # its fields are parts of their own (fixed_noise, eval_real, ...)

    def items(self):
        """(name, value) of every part, the fixed batches' one by one."""
        for f in dataclasses.fields(self):
            if f.name != "batches":
                yield f.name, getattr(self, f.name)
        yield from self.batches.by_name().items()


def load_data(cfg: Config, device: torch.device, data: DataSource | None):
    """The run's data on ``device`` and its held-out images (image sets with ``[data] holdout``
    > 0; toy sets draw fresh points for every batch: nothing to keep out)."""
    data = data.to(device) if data is not None else make_data(cfg, device)
    heldout = None
    if data.kind != "toy" and cfg.data.holdout > 0 and hasattr(data, "split"):
        data, heldout = data.split(cfg.data.holdout, cfg.train.seed)
    if cfg.model.conditional != "none" and data.num_classes <= 0:
        raise ConfigError(unlabelled_message(cfg.data.name), file=cfg.source, key="[model] conditional",
                          value=cfg.model.conditional, allowed="'none' for this data set")
    return data, heldout


def build_run(cfg: Config, device: torch.device, data: DataSource | None = None,
              run_dir: RunDir | None = None, evaluates: bool = True) -> RunParts:
    """The parts of a run of ``cfg`` on ``device`` (``data``: a data source given instead of the
    configured one; ``run_dir``: the folder the recorder writes metrics.csv to, None for none;
    ``evaluates``: False in a process that never measures quality, which then builds no feature
    networks)."""
    seed = cfg.train.seed
    data, heldout = load_data(cfg, device, data)
    is_toy = data.kind == "toy"
    # Conditional training: both nets take the class label (0 = unconditional).
    num_classes = data.num_classes if cfg.model.conditional != "none" else 0
    conditional = num_classes > 0
    seed_everything(seed)
    generator, critic = build_models(cfg, data.shape, num_classes)
    objective = get_objective(cfg.objective.kind, divergence=cfg.objective.divergence,
                              fgan_generator=cfg.objective.fgan_generator)
    if isinstance(data, ToyData) and data.points is not None and cfg.model.arch == "mlp":
        # Your own points, at whatever scale: the networks train in standardised coordinates (the
        # run's checkpoints keep the centre and scale; samples and W1 stay in the file's units).
        set_data_scale(generator, critic, *data.points.standardisation(),
                       wasserstein=traits(cfg.objective.kind).estimates_w1)
    # How the run uses its device ([train] precision, channels_last, cudnn_benchmark, pin_memory):
    # decided once, here, with the reasons the "start" event carries (engine.device).
    performance = resolve_performance(cfg, device, image=not is_toy,
                                      hand_derived=hand_derived_layers(critic, objective, conditional) is not None)
    fmt = performance.memory_format
    generator.to(device, memory_format=fmt)
    critic.to(device, memory_format=fmt)
    for d in (data, heldout):
        if hasattr(d, "memory_format"):  # image batches in the networks' layout
            d.memory_format = fmt
    apply_cudnn_benchmark(performance.cudnn_benchmark, device)
    amp = MixedPrecision(performance.autocast_dtype, device.type, performance.grad_scaler, performance.penalty_dtype)
    # What samples, evaluations and exports show; None: they use the generator itself.
    ema = WeightAverage(generator, cfg.model.ema_decay) if cfg.model.ema_decay > 0 else None
    hp = {k: cfg.get(f"{s}.{n}") for k, (s, n) in LIVE_KEYS.items()}
    opt_critic = make_optimiser(critic, hp["lr_critic"], cfg)
    opt_generator = make_optimiser(generator, hp["lr_generator"], cfg)
    # One RNG stream on the device for batches, noise and GP epsilons: its state is
    # checkpointed, which is what makes resume exact.
    rng = torch.Generator(device=device)
    rng.manual_seed(seed)
    algorithm = TrainingStep(
        generator, critic, opt_generator, opt_critic, objective, data, rng,
        batch_size=cfg.train.batch_size, z_dim=cfg.model.z_dim, conditional=conditional,
        clip_before_step=cfg.objective.clip_before_step, amp=amp,
        critic_gradients=choose_critic_gradients(critic, objective, conditional, rng, amp))
    batches = make_fixed_batches(cfg, data, heldout, device, num_classes, is_toy)
    digits = uses_digit_classifier(cfg, data)
    net, inception = image_feature_nets(cfg, data, is_toy, evaluates)
    columns = metric_columns(is_toy, digits, digit_features=digits and net == "digits", inception=bool(inception))
    recorder = MetricsRecorder(columns, objective, device, run_dir)
    centres = None
    if isinstance(data, ToyData) and data.centres is not None:
        centres = (data.centres.cpu().numpy(), data.std)
    evaluator = Evaluator(is_toy, centres, digits, net, inception)
    return RunParts(
        data=data, heldout=heldout, is_toy=is_toy, num_classes=num_classes, conditional=conditional,
        generator=generator, critic=critic, objective=objective, performance=performance,
        warnings=list(performance.warnings), amp=amp, ema=ema,
        sampler=ema.model if ema is not None else generator, averaged=ema is not None,
        hp=hp, opt_critic=opt_critic, opt_generator=opt_generator, rng=rng, algorithm=algorithm, columns=columns,
        recorder=recorder, evaluator=evaluator, batches=batches)
