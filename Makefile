# The two commands: `make dev` (run locally) and `make test` (the whole suite). See README.md.
.PHONY: dev test venv lint openapi bench tools

venv:
	@scripts/bootstrap.sh

tools:
	@if [ -x scripts/ensure-system-tools.sh ]; then scripts/ensure-system-tools.sh; fi

dev: venv
	.venv/bin/python -m lib.dev serve

test: venv tools
	.venv/bin/python -m pytest

lint: venv
	.venv/bin/ruff check .
