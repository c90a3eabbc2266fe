# Shortcuts for the scripts; each one sets up .venv first when needed.
.PHONY: test dist dist-archive smoke-dist clean-dist

test:
	bash scripts/test.sh

# The packaged studio: dist/WGANStudio-<version>/WGANStudio (see docs/guide/packaging.md).
dist:
	bash scripts/build.sh

dist-archive:
	bash scripts/build.sh --archive

smoke-dist:
	bash scripts/build.sh --smoke-test

clean-dist:
	rm -rf build dist
