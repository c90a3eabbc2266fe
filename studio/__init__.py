"""WGAN Studio's desktop front end (PySide6 + pyqtgraph).

The studio drives :mod:`engine` only through its public API. The trainer runs in a worker
thread (:mod:`studio.worker`); everything else lives in the GUI thread.
"""

from studio._compat import make_none_immortal
from studio.load_order import load_torch_first_if_needed

# Before any Qt import: on Windows PyTorch's libraries must load before Qt's (studio.load_order).
load_torch_first_if_needed()
# Before any Qt call: PySide6 6.12 on Python 3.11 leaks references to None (see _compat).
make_none_immortal()
