"""Bundled resources: presets, the digits data set, icons and the style sheet.

Found through this package's location (``importlib.resources``) so a frozen build finds them too.
"""

from importlib.resources import files
from pathlib import Path


def path(*parts: str) -> Path:
    """Filesystem path of a bundled resource."""
    return Path(str(files(__name__).joinpath(*parts)))
