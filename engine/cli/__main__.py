"""``python -m engine.cli``: ``wgan-train``."""

import sys

from .wgan_train import train_main

if __name__ == "__main__":  # pragma: no cover - importing the module (a walk of the packages) runs nothing
    sys.exit(train_main())
