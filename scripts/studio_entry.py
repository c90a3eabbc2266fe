"""Entry script of the packaged studio (studio.spec): absolute imports only, no package context.

``python scripts/studio_entry.py --smoke-test`` behaves like ``wgan-studio --smoke-test``.
"""

import sys

from studio.app import main

if __name__ == "__main__":
    sys.exit(main())
