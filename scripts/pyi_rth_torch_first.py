"""PyInstaller run-time hook of the packaged studio (studio.spec): applies studio.load_order's
rule (on Windows: import torch before Qt) before PyInstaller's own PySide6 hook imports QtCore.

Custom run-time hooks run before the hooks PyInstaller adds for the packages it found, so this is
the first code of the frozen app that imports anything of ours.
"""

from studio.load_order import load_torch_first_if_needed

load_torch_first_if_needed()
