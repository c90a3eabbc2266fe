"""Whether values can be used: :class:`ConfigError` (the one error of a configuration, naming the
file, the key, the bad value and what is allowed), the check of one value against its field
(:func:`coerce_value`, :func:`live_value` for a live parameter), the cross-field checks of a whole
configuration (:func:`validate`) and which fields a configuration does not read
(:func:`unused_fields`)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from typing import Any

from ..objective_traits import OBJECTIVE_TRAITS, traits
from .schema import (
    DATASETS_WITH_PATH,
    LABELLED_DATASETS_TEXT,
    LIVE_KEYS,
    SCHEMA,
    TOY_DATASETS,
    UNLABELLED_DATASETS,
    Config,
    FieldInfo,
)


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
        super().__init__(self.message())

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
        out.args = (f"{len(errors)} problems{where}:\n" + "\n".join(f"  {e.message()}" for e in errors),)
        return out

    def message(self) -> str:
        """This error's own line (``str()`` of a combined error lists every one)."""
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


def coerce_value(info: FieldInfo, value: Any, *, file=None) -> Any:
    """Check one value against its field; return it in canonical form or raise ConfigError."""
    def bad(problem):
        return ConfigError(problem, file=file, key=f"[{info.section}] {info.key}", value=value,
                           allowed=info.allowed())

    check = _COERCE_BY_TYPE.get(info.type)
    if check is None:  # pragma: no cover - schema bug
        raise TypeError(info.type)
    return check(info, value, bad)


def _coerce_bool(info: FieldInfo, value: Any, bad: Callable[[str], ConfigError]) -> bool:
    if not isinstance(value, bool):
        raise bad("expected true or false")
    return value


def _coerce_str(info: FieldInfo, value: Any, bad: Callable[[str], ConfigError]) -> str:
    if not isinstance(value, str):
        raise bad("expected a string")
    return _within(info, value, bad)


def _coerce_int(info: FieldInfo, value: Any, bad: Callable[[str], ConfigError]) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer() and info.choices == ():
            raise bad("expected an integer, got a number with a decimal point")
        raise bad("expected an integer")
    return _within(info, value, bad)


def _coerce_float(info: FieldInfo, value: Any, bad: Callable[[str], ConfigError]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad("expected a number")
    v = float(value)
    if not math.isfinite(v):
        raise bad("must be a finite number")
    return _within(info, v, bad)


def _coerce_tuple(info: FieldInfo, value: Any, bad: Callable[[str], ConfigError]) -> tuple:
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


def _within(info: FieldInfo, v, bad: Callable[[str], ConfigError]):
    """``v`` when it is one of the field's choices, or (a number) within its range."""
    if info.choices and v not in info.choices:
        raise bad("not one of the allowed values")
    if isinstance(v, (int, float)) and not info.choices:
        if info.min is not None and (v < info.min or (info.min_exclusive and v <= info.min)):
            raise bad("too small")
        if info.max is not None and v > info.max:
            raise bad("too large")
    return v


_COERCE_BY_TYPE = {bool: _coerce_bool, str: _coerce_str, int: _coerce_int, float: _coerce_float,
                   tuple: _coerce_tuple}


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
        (name in TOY_DATASETS, ("data.image_size", "data.channels", "data.holdout", "train.pin_memory",
                                 "train.inception_weights"),
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
    errors = _combination_errors(cfg, file) + _best_by_errors(cfg, file)
    if errors:
        raise ConfigError.combine(errors)
    warnings = []
    if traits(cfg.objective.kind).clips_weights and cfg.optimiser.name == "adam":
        warnings.append("Adam with weight clipping: the WGAN paper reports that momentum-based optimisers "
                        "destabilise clipped critics; RMSProp is recommended.")
    return warnings


def _combination_errors(cfg: Config, file) -> list[ConfigError]:
    """The combinations of valid values that cannot train."""
    d, m, o = cfg.data, cfg.model, cfg.objective
    errors: list[ConfigError] = []
    if d.name in DATASETS_WITH_PATH and not d.path:
        errors.append(ConfigError(f"data set {d.name!r} needs a path", file=file, key="[data] path", value=d.path,
                                  allowed="a file or folder"))
    if traits(o.kind).uses_penalty and m.critic_norm == "batch":
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
    return errors


def best_by_allowed(cfg: Config) -> tuple[str, ...]:
    """The values ``[train] best_by`` may take for ``cfg``'s data: the columns its evaluations
    write (engine.rundir), less the spreads and the critic's means."""
    if cfg.is_toy:
        return ("auto", "w1_exact", "modes_covered", "high_quality_share")
    cols = ("auto", "sliced_w", "frechet_distance", "kid")
    if cfg.train.inception_weights:
        cols += ("inception_fid", "inception_kid")
    if cfg.data.name == "digits":
        cols += ("classes_hit", "class_kl", "confident_share")
    return cols


def _best_by_errors(cfg: Config, file) -> list[ConfigError]:
    allowed = best_by_allowed(cfg)
    if cfg.train.best_by in allowed:
        return []
    return [ConfigError(f"data set {cfg.data.name!r} does not evaluate {cfg.train.best_by!r}", file=file,
                        key="[train] best_by", value=cfg.train.best_by, allowed=", ".join(map(repr, allowed)))]


def unlabelled_message(name: str) -> str:
    return (f"conditional training needs class labels and data set {name!r} has none (data sets with labels: "
            f"{LABELLED_DATASETS_TEXT})")
