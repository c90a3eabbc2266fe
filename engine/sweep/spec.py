"""The sweep file: what a sweep trains, checked through the configuration's own checks before
anything trains (docs/guide/sweeps.md).

```toml
base = "toy-wgan-clip"            # a preset name or a config path (relative to the sweep file)
trials = 12                        # how many runs in all (grid: at most, and by default, each combination once)
sampler = "tpe"                    # grid | random | tpe
metric = "w1_exact"                # any evaluated column; the last evaluation's value
direction = "minimize"
[set]                              # fixed overrides for every trial
"train.iterations" = 2000
[search]
"objective.clip_value" = [0.001, 0.01, 0.1]                          # a list: one of these
"optimiser.lr_critic" = { low = 1e-5, high = 1e-3, log = true }      # a range (random, tpe)
```

A bad file raises :class:`SweepError` (a ``ConfigError``): every problem at once, each naming the
file, the key and what is allowed.
"""

from __future__ import annotations

import itertools
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from ..config import (
    SCHEMA,
    SECTIONS,
    Config,
    ConfigError,
    coerce_value,
    config_from_dict,
    list_presets,
    load_config,
    load_preset,
)
from ..io import UnreadableError, read_user_text
from ..rundir import EVAL_COLUMNS, metric_columns, uses_digit_classifier

SAMPLERS = ("grid", "random", "tpe")
DIRECTIONS = ("minimize", "maximize")
PRUNERS = ("median", "none")
SWEEP_KEYS = ("base", "trials", "sampler", "metric", "direction", "pruner", "seed", "set", "search")
#: Measures where more is better: their default direction is "maximize".
HIGHER_IS_BETTER = ("modes_covered", "high_quality_share", "classes_hit", "confident_share")
MAX_SWEEP_BYTES = 1 << 20


class SweepError(ConfigError):
    """A sweep file that cannot be used (the message names the file, the key and what is allowed)."""


@dataclass(frozen=True)
class Choice:
    """A [search] list: one of these values."""
    values: tuple


@dataclass(frozen=True)
class Range:
    """A [search] range {low, high, log}: a number in [low, high] (integer keys: a whole number)."""
    low: float
    high: float
    log: bool = False
    integer: bool = False


@dataclass
class SweepSpec:
    path: Path | None
    base: str
    base_config: Config          # the base with [set] applied
    trials: int
    sampler: str
    metric: str
    direction: str
    pruner: str
    seed: int
    set: dict[str, Any] = field(default_factory=dict)
    search: dict[str, Choice | Range] = field(default_factory=dict)
    text: str = ""

    def trial_config(self, params: dict[str, Any]) -> Config:
        """The configuration of the trial with ``params`` (dotted key -> value)."""
        return config_from_dict(_nested(params), base=self.base_config)

    def grid_size(self) -> int | None:
        """The number of combinations of the lists (None when a key is a range)."""
        if any(isinstance(s, Range) for s in self.search.values()):
            return None
        return math.prod(len(s.values) for s in self.search.values())

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of the lists, in the file's order."""
        keys = list(self.search)
        combos = itertools.product(*(self.search[k].values for k in keys))
        return [dict(zip(keys, combo, strict=True)) for combo in combos]


def _nested(dotted: dict[str, Any]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for key, value in dotted.items():
        sec, name = key.split(".", 1)
        out.setdefault(sec, {})[name] = list(value) if isinstance(value, tuple) else value
    return out


def metric_choices(cfg: Config) -> tuple[str, ...]:
    """The evaluated columns a run of ``cfg`` writes: what ``metric`` may name."""
    cols = metric_columns(cfg.is_toy, digits=uses_digit_classifier(cfg))
    return tuple(c for c in cols if c in EVAL_COLUMNS)


# ----------------------------------------------------------------------------- reading

def load_sweep(path: str | os.PathLike) -> SweepSpec:
    path = Path(path)
    try:
        text = read_user_text(path, MAX_SWEEP_BYTES, "a sweep .toml file")
    except UnreadableError as e:
        raise SweepError(str(e), file=path) from None
    spec = loads_sweep(text, file=str(path), base_dir=path.parent)
    spec.path = path
    return spec


def loads_sweep(text: str, *, file: str = "<string>", base_dir: str | os.PathLike | None = None,
                base_config: Config | None = None) -> SweepSpec:
    """``base_config``: the base to use instead of reading ``base`` (a sweep folder's base.toml)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SweepError(f"not valid TOML: {e}", file=file) from None
    checker = _Checker(raw, file, Path(base_dir) if base_dir is not None else Path.cwd(), base_config)
    spec = checker.check()
    spec.text = text
    return spec


def dumps_sweep(data: dict) -> str:
    """The TOML text of a sweep shaped like the file (what a form writes); check it with loads_sweep."""
    def plain(v):
        if isinstance(v, Choice):
            return list(v.values)
        if isinstance(v, Range):
            return {"low": v.low, "high": v.high, "log": v.log}
        if isinstance(v, tuple):
            return list(v)
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v
    top = {k: plain(v) for k, v in data.items() if k not in ("set", "search")}
    for table in ("set", "search"):
        if data.get(table):
            top[table] = plain(data[table])
    return tomli_w.dumps(top)


class _Checker:
    """Reads a parsed sweep file; collects every problem, then raises them as one SweepError."""

    def __init__(self, raw: dict, file: str, base_dir: Path, base_config: Config | None = None):
        self.raw, self.file, self.base_dir, self.base_config = raw, file, base_dir, base_config
        self.errors: list[ConfigError] = []

    def bad(self, problem: str, key: str, value=None, allowed: str | None = None) -> None:
        self.errors.append(SweepError(problem, file=self.file, key=key, value=value, allowed=allowed))

    def raise_errors(self) -> None:
        if self.errors:
            raise _as_sweep_error(SweepError.combine(self.errors))

    def check(self) -> SweepSpec:
        for key in self.raw:
            if key not in SWEEP_KEYS:
                self.bad("unknown key", str(key), self.raw[key], ", ".join(SWEEP_KEYS))
        base_name, base_cfg = self.base()
        sampler = self.choice("sampler", SAMPLERS, "tpe")
        overrides = self.overrides(base_cfg)
        cfg = self.apply_set(base_cfg, overrides) if base_cfg is not None else None
        search = self.search(cfg, sampler)
        metric = self.metric(cfg)
        direction = self.choice("direction", DIRECTIONS,
                                "maximize" if metric in HIGHER_IS_BETTER else "minimize")
        pruner = self.choice("pruner", PRUNERS, "none" if sampler == "grid" else "median")
        seed = self.whole("seed", 0, 0)
        trials = self.trials(sampler, search)
        self.raise_errors()
        return SweepSpec(None, base_name, cfg, trials, sampler, metric, direction, pruner, seed, overrides, search)

    # --- the keys, one each

    def base(self) -> tuple[str, Config | None]:
        base = self.raw.get("base")
        presets = list_presets()
        if not isinstance(base, str) or not base:
            self.bad("missing: a preset name or a config path", "base", base, ", ".join(presets) + " or a .toml path")
            return "", None
        if self.base_config is not None:
            return base, self.base_config
        if base in presets:
            return base, load_preset(base)
        path = Path(os.path.expanduser(base))
        path = path if path.is_absolute() else self.base_dir / path
        if not path.suffix == ".toml" and not path.exists():
            self.bad("neither a preset nor a config file", "base", base, ", ".join(presets) + " or a .toml path")
            return base, None
        try:
            return base, load_config(path)
        except ConfigError as e:
            self.errors.append(e)
            return base, None

    def choice(self, key: str, allowed: tuple, default: str) -> str:
        value = self.raw.get(key, default)
        if value not in allowed:
            self.bad("not one of the choices", key, value, ", ".join(allowed))
            return default
        return value

    def whole(self, key: str, default: int, low: int) -> int:
        value = self.raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            self.bad(f"expected a whole number >= {low}", key, value)
            return default
        return value

    def table(self, key: str) -> dict:
        value = self.raw.get(key, {})
        if not isinstance(value, dict):
            self.bad('expected a table of "section.key" = value', f"[{key}]", value)
            return {}
        return value

    def field(self, table: str, key: str):
        """The schema field of a "section.key" in [set] or [search], or None (the problem noted)."""
        info = SCHEMA.get(key)
        if info is None:
            sec = key.split(".", 1)[0]
            if sec in SECTIONS and "." in key:
                allowed = ", ".join(k for k in SCHEMA if k.startswith(sec + "."))
            else:
                allowed = 'a "section.key" of the configuration, sections: ' + ", ".join(SECTIONS)
            self.bad("unknown key", f'[{table}] "{key}"', None, allowed)
        return info

    def overrides(self, base_cfg: Config | None) -> dict[str, Any]:
        out = {}
        for key, value in self.table("set").items():
            info = self.field("set", key)
            if info is None:
                continue
            try:
                out[key] = coerce_value(info, value)
            except ConfigError as e:
                self.bad(e.problem, f'[set] "{key}"', value, e.allowed)
        return out

    def apply_set(self, base_cfg: Config, overrides: dict) -> Config | None:
        try:
            return config_from_dict(_nested(overrides), base=base_cfg)
        except ConfigError as e:
            for one in e.errors:
                self.bad(one.problem, f"[set] {one.key}" if one.key else "[set]", one.value, one.allowed)
            return None

    def search(self, cfg: Config | None, sampler: str) -> dict[str, Choice | Range]:
        out: dict[str, Choice | Range] = {}
        table = self.table("search")
        if not table:
            self.bad("empty: name at least one key to search", "[search]", None,
                     '"section.key" = [values] or {low, high, log}')
        for key, value in table.items():
            info = self.field("search", key)
            if info is None:
                continue
            where = f'[search] "{key}"'
            if isinstance(value, dict):
                one = self.range(info, where, value, sampler)
            elif isinstance(value, list):
                one = self.values(info, where, value)
            else:
                self.bad("expected a list of values or a range {low, high, log}", where, value)
                continue
            if one is not None and cfg is not None and self.fits(cfg, key, where, one):
                out[key] = one
        return out

    def values(self, info, where: str, value: list) -> Choice | None:
        if not value:
            self.bad("empty list: give at least one value", where, value, info.allowed())
            return None
        out = []
        for v in value:
            try:
                out.append(coerce_value(info, v))
            except ConfigError as e:
                self.bad(e.problem, where, v, e.allowed)
                return None
        if len(set(map(repr, out))) != len(out):
            self.bad("a value is listed twice", where, value)
            return None
        return Choice(tuple(out))

    def range(self, info, where: str, value: dict, sampler: str) -> Range | None:
        extra = [k for k in value if k not in ("low", "high", "log")]
        if extra:
            self.bad("unknown key in a range", f"{where}.{extra[0]}", value[extra[0]], "low, high, log")
            return None
        if sampler == "grid":
            self.bad("a range cannot be searched by the grid sampler", where, value,
                     "a list of values, or sampler = \"random\" or \"tpe\"")
            return None
        if info.type not in (int, float):
            self.bad("a range needs a numeric key", where, value, f"a list of values ({info.allowed()})")
            return None
        ends = []
        for end in ("low", "high"):
            try:
                ends.append(coerce_value(info, value.get(end)))
            except ConfigError as e:
                self.bad(e.problem, f"{where}.{end}", value.get(end), e.allowed)
        log = value.get("log", False)
        if not isinstance(log, bool):
            self.bad("expected true or false", f"{where}.log", log)
            return None
        if len(ends) < 2:
            return None
        low, high = ends
        if not low < high:
            self.bad("empty range: low must be below high", where, value, f"low < high within {info.allowed()}")
            return None
        if log and low <= 0:
            self.bad("a log range needs low > 0", where, value)
            return None
        return Range(low, high, log, info.type is int)

    def fits(self, cfg: Config, key: str, where: str, one: Choice | Range) -> bool:
        """Each value (a range's ends) with the rest of the configuration: the combination checks."""
        values = one.values if isinstance(one, Choice) else (one.low, one.high)
        for v in values:
            try:
                config_from_dict(_nested({key: v}), base=cfg)
            except ConfigError as e:
                self.bad(e.problem, where, v, e.allowed)
                return False
        return True

    def metric(self, cfg: Config | None) -> str:
        metric = self.raw.get("metric")
        if cfg is None:
            return metric if isinstance(metric, str) else ""
        allowed = metric_choices(cfg)
        if metric not in allowed:
            self.bad("not a measure the runs evaluate" if metric is not None else "missing", "metric", metric,
                     ", ".join(allowed))
            return ""
        if cfg.train.eval_every <= 0:
            self.bad("the runs never evaluate, so the metric is never measured", '[set] "train.eval_every"',
                     cfg.train.eval_every, "a whole number >= 1")
        return metric

    def trials(self, sampler: str, search: dict) -> int:
        combos = math.prod(len(s.values) for s in search.values()) if search and all(
            isinstance(s, Choice) for s in search.values()) else None
        if "trials" not in self.raw and sampler == "grid" and combos:
            return combos
        trials = self.whole("trials", 1, 1)
        if "trials" not in self.raw:
            self.bad("missing: how many runs in all", "trials", None, "a whole number >= 1")
        elif sampler == "grid" and combos is not None and trials > combos:
            self.bad(f"the grid has {combos} combinations, each is run once", "trials", trials, f"1 to {combos}")
        return trials


def _as_sweep_error(err: ConfigError) -> SweepError:
    out = SweepError(err.problem, file=err.file, key=err.key, value=err.value, allowed=err.allowed)
    out.errors = err.errors
    out.args = err.args
    return out
