"""Write docs/configuration.md, the configuration reference, from the config schema
(engine.config.SCHEMA, rendered by engine.config_reference). Run it after changing a key, its
default, its range or its help text, or a preset; tests/test_docs.py fails until you do.

    .venv/bin/python scripts/make_config_reference.py [--out docs/configuration.md] [--check]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(root))

from engine.config_reference import reference_markdown  # noqa: E402

DEFAULT_OUT = root / "docs" / "configuration.md"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the file to write (default docs/configuration.md)")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 when the file is out of date")
    args = ap.parse_args(argv)
    text = reference_markdown()
    current = args.out.read_text(encoding="utf-8") if args.out.is_file() else None
    if args.check:
        if current != text:
            print(f"{args.out} is out of date: run python scripts/make_config_reference.py", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date")
        return 0
    if current == text:
        print(f"{args.out} is up to date")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
