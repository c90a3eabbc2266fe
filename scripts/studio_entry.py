"""Entry script of the packaged studio (studio.spec): absolute imports only, no package context.

``python scripts/studio_entry.py --smoke-test`` behaves like ``wgan-studio --smoke-test``;
``... --engine NAME ARGS`` like ``wgan-NAME ARGS`` (the packaged studio's queue and sweeps).
"""

import sys

if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--engine":
        # WGANStudio --engine train ARGS: a run of the queue or of a sweep started by the studio, in a
        # program with no Python to run (engine.procs.engine_command); Qt is never imported.
        from engine.cli import engine_command_main

        sys.exit(engine_command_main(sys.argv[2], sys.argv[3:]))
    from studio.app import main

    sys.exit(main())
