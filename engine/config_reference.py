"""The configuration reference (``docs/configuration.md``), generated from the config schema.

:func:`reference_markdown` renders :data:`engine.config.SCHEMA` section by section (key, type,
default, what is allowed, the paper's symbol, the unit, whether it can change while a run trains,
the help text) and, after it, what each bundled preset sets differently from the defaults.
``python scripts/make_config_reference.py`` writes the file; ``tests/test_docs.py`` fails when the
file in the repository is not what this module makes, so the reference never drifts from the
schema. Pure Python: nothing here imports more than :mod:`engine.config`.
"""

from __future__ import annotations

from engine import config as schema

COMMAND = "python scripts/make_config_reference.py"

SECTION_TEXT = {
    "data": "What the run trains on: a 2-D toy set generated on the fly, your own points, or images.",
    "model": "The two networks: their family and size, normalisation, initialisation, the moving average "
             "of the generator's weights and conditional training.",
    "objective": "What the critic and the generator minimise, and the objective's own parameters.",
    "optimiser": "The optimiser of both networks and its learning rates.",
    "train": "The length of the run, what it writes and when, and how it uses the machine.",
}

TYPE_TEXT = {str: "text", int: "integer", float: "number", bool: "true / false", tuple: "list of numbers"}


def toml_value(value) -> str:
    """``value`` as it is written in a TOML file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, float):
        text = repr(value)
        if "e" in text:  # 5e-05 -> 5e-5
            mantissa, exponent = text.split("e")
            return f"{mantissa}e{int(exponent)}"
        return text
    return str(value)


def cell(text: str) -> str:
    """Text that is safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def live_name(info: schema.FieldInfo) -> str | None:
    """The name a running run knows this key by (``wgan-ctl RUN set NAME=VALUE``), or None."""
    for name, (sec, key) in schema.LIVE_KEYS.items():
        if (sec, key) == (info.section, info.key):
            return name
    return None


def allowed_text(info: schema.FieldInfo) -> str:
    if info.kind == "path":
        return "a file or folder (empty: none)"
    return info.allowed()


def type_text(info: schema.FieldInfo) -> str:
    if info.type is tuple and info.length:
        return f"list of {info.length} numbers"
    return TYPE_TEXT[info.type]


def live_text(info: schema.FieldInfo) -> str:
    name = live_name(info)
    return f"yes (`{name}`)" if info.live and name else ("yes" if info.live else "no")


def section_markdown(section: str) -> list[str]:
    fields = [info for info in schema.SCHEMA.values() if info.section == section]
    lines = [f"## [{section}]", "", SECTION_TEXT.get(section, ""), "",
             "| key | type | default | allowed | symbol | unit | live |",
             "|---|---|---|---|---|---|---|"]
    for info in fields:
        lines.append("| " + " | ".join(cell(x) for x in (
            f"[`{info.key}`](#{section}-{info.key})", type_text(info),
            f"`{toml_value(info.default)}`", allowed_text(info), info.symbol, info.unit, live_text(info))) + " |")
    lines.append("")
    for info in fields:
        lines += [f"### `[{section}] {info.key}`", "", info.help, ""]
        facts = [f"Default `{toml_value(info.default)}`", f"allowed: {allowed_text(info)}"]
        if info.symbol:
            facts.append(f"symbol {info.symbol}")
        if info.unit:
            facts.append(f"unit {info.unit}")
        if info.live:
            facts.append("can change while the run trains" + (f" (`{live_name(info)}`)" if live_name(info) else ""))
        lines += ["; ".join(facts) + ".", ""]
    return lines


def preset_differences(cfg: schema.Config) -> list[tuple[str, object]]:
    """``(dotted key, value)`` of every key where ``cfg`` differs from the schema's default."""
    return [(dotted, cfg.get(dotted)) for dotted, info in schema.SCHEMA.items() if cfg.get(dotted) != info.default]


def presets_markdown() -> list[str]:
    lines = ["## Presets", "",
             "A preset is an ordinary configuration file in `resources/presets/`. Each one below lists "
             "the keys it sets to something other than the default above; every other key has its "
             "default. A run with no configuration file starts from "
             f"`{schema.DEFAULT_PRESET}`, not from the bare defaults.", ""]
    for name, description in schema.list_presets().items():
        cfg = schema.load_preset(name)
        default = " (the default preset)" if name == schema.DEFAULT_PRESET else ""
        lines += [f"### `{name}`{default}", "", description, ""]
        diffs = preset_differences(cfg)
        if diffs:
            by_section: dict[str, list[str]] = {}
            for dotted, value in diffs:
                sec, key = dotted.split(".", 1)
                by_section.setdefault(sec, []).append(f"`{key} = {toml_value(value)}`")
            for sec in schema.SECTIONS:
                if sec in by_section:
                    lines.append(f"- `[{sec}]` " + ", ".join(by_section[sec]))
        else:
            lines.append("- every key at its default")
        lines.append("")
    return lines


def example_toml(name: str = "toy-wgan-clip") -> list[str]:
    """A preset written as a user would write it: only the keys that differ from the defaults."""
    cfg = schema.load_preset(name)
    lines = ["```toml", f"config_version = {schema.CONFIG_VERSION}",
             f"description = {toml_value(cfg.description)}"]
    by_section: dict[str, list[str]] = {}
    for dotted, value in preset_differences(cfg):
        sec, key = dotted.split(".", 1)
        by_section.setdefault(sec, []).append(f"{key} = {toml_value(value)}")
    for sec in schema.SECTIONS:
        if sec in by_section:
            lines += ["", f"[{sec}]", *by_section[sec]]
    return lines + ["```"]


def reference_markdown() -> str:
    """The whole of ``docs/configuration.md``."""
    live = ", ".join(f"`{name}`" for name in schema.LIVE_KEYS)
    lines = [
        "# Configuration reference",
        "",
        f"<!-- Generated from the schema in engine/config/schema.py by `{COMMAND}`: do not edit by hand. -->",
        "",
        f"A run is configured by a TOML file with `config_version = {schema.CONFIG_VERSION}`, an optional "
        f"`description` and the sections {', '.join(f'`[{s}]`' for s in schema.SECTIONS)}. Every key has a "
        "default, so a file names only what it changes. An unknown key, a value of the wrong type or out of "
        "range is refused with a message naming the file, the key, the value and what is allowed; a file "
        "with several problems names all of them at once. On the command line `--set SECTION.KEY=VALUE` "
        "changes one key (the value is read as TOML: `0.01`, `true`, `[0.5, 0.9]`, `\"folder\"`).",
        "",
        "For example, the `toy-wgan-clip` preset, the WGAN paper's Algorithm 1 on 8 Gaussians, amounts to this "
        "(every other key at its default):",
        "",
        *example_toml(),
        "",
        f"**Live** keys ({live}) can also change while a run trains: in the studio's Steer panel, with "
        "`wgan-ctl RUN set NAME=VALUE`, or with `wgan-train --resume RUN --set SECTION.KEY=VALUE`; each "
        "change is applied at the next generator iteration and logged. The others are fixed for the "
        "life of a run. The symbols are the papers' (see [the algorithms](algorithm.md)).",
        "",
        "Sections: " + ", ".join(f"[`[{s}]`](#{s})" for s in schema.SECTIONS) + ", [presets](#presets).",
        "",
    ]
    for section in schema.SECTIONS:
        lines += section_markdown(section)
    lines += presets_markdown()
    return "\n".join(lines).rstrip("\n") + "\n"
