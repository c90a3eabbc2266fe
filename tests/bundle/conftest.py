"""The packaged build. Tests marked ``bundle`` build the PyInstaller bundle (minutes) and run it;
``bash scripts/test.sh`` runs them after the main suite (``pytest -m bundle tests/bundle``)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "bundle: builds the PyInstaller bundle and runs it "
                            "(scripts/test.sh runs these after the main suite)")
