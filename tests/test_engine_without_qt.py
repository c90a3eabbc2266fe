import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_engine_module_imports_with_qt_blocked():
    code = textwrap.dedent("""
        import importlib, pkgutil, sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "studio"):
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        import engine
        names = [m.name for m in pkgutil.walk_packages(engine.__path__, "engine.")]
        for n in names:
            importlib.import_module(n)
        assert not [m for m in sys.modules if m.startswith(("PySide6", "pyqtgraph"))]
        print(len(names))
    """)
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.strip()) >= 15
