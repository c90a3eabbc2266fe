"""The packaged build. Tests marked ``bundle`` build the PyInstaller bundle (minutes) and run it;
they run only when asked for (``pytest -m bundle``), as ``bash scripts/test.sh`` does after the
main suite."""
