"""Reading and writing configurations: a TOML-shaped dict or file made into a checked
:class:`~engine.config.schema.Config` (every problem reported at once), written back as TOML,
``--set section.key=value`` overrides and the bundled presets."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from ..io import UnreadableError, read_user_text
from .checks import ConfigError, coerce_value, validate
from .schema import CONFIG_VERSION, MAX_CONFIG_BYTES, SCHEMA, SECTION_TYPES, SECTIONS, Config


def config_from_dict(raw: dict, *, file=None, base: Config | None = None) -> Config:
    """Build and validate a Config from a (TOML-shaped) dict. Missing keys take their defaults
    (or ``base``'s values); unknown keys are errors. Every problem is reported at once."""
    if not isinstance(raw, dict):
        raise ConfigError("the configuration must be a table of sections", file=file)
    cfg = base.copy() if base is not None else Config()
    cfg.source = str(file) if file is not None else (base.source if base is not None else None)
    errors: list[ConfigError] = []
    for key, value in raw.items():
        errors += _read_entry(cfg, key, value, file)
    if errors:  # the combinations are checked once every value is valid
        raise ConfigError.combine(errors)
    validate(cfg, file=file)
    return cfg


def _read_entry(cfg: Config, key, value, file) -> list[ConfigError]:
    """Set one top-level entry of ``raw`` on ``cfg``; the problems found."""
    if key in SECTIONS:
        return _read_section(cfg, key, value, file)
    if key == "config_version":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= CONFIG_VERSION:
            return [ConfigError("unsupported configuration version", file=file, key="config_version",
                                value=value, allowed=f"1 to {CONFIG_VERSION}")]
        cfg.config_version = value
    elif key == "description":
        if not isinstance(value, str):
            return [ConfigError("expected a string", file=file, key="description", value=value)]
        cfg.description = value
    else:
        return [ConfigError("unknown key", file=file, key=str(key), value=value,
                            allowed=", ".join(("config_version", "description") + SECTIONS))]
    return []


def _read_section(cfg: Config, key: str, value, file) -> list[ConfigError]:
    if not isinstance(value, dict):
        return [ConfigError("expected a table [section]", file=file, key=key, value=value)]
    section = getattr(cfg, key)
    errors = []
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
    return errors


def load_config(path: str | os.PathLike, *, base: Config | None = None) -> Config:
    path = Path(path)
    try:
        text = read_user_text(path, MAX_CONFIG_BYTES, "a .toml file")
    except UnreadableError as e:
        raise ConfigError(str(e), file=path) from None
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
    from ..io import atomic_write_bytes
    from .paths import local_path
    data_path = cfg.data.path and local_path(cfg.data.path, file=cfg.source)
    if (data_path and not data_path.is_absolute() and cfg.source
            and Path(cfg.source).resolve().parent != Path(path).resolve().parent):
        cfg = cfg.copy()
        cfg.data.path = (Path(cfg.source).resolve().parent / data_path).as_posix()  # "/" reads on every system
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
