# The two commands: `make dev` (run locally) and `make test` (the whole suite). See README.md.
.PHONY: dev test venv lint openapi bench tools vercel-tools

venv:
	@scripts/bootstrap.sh

tools:
	@if [ -x scripts/ensure-system-tools.sh ]; then scripts/ensure-system-tools.sh; fi

dev: venv
	.venv/bin/python -m lib.dev serve

# The pinned Vercel CLI and the bundle's wheels, so the suite can run `vercel build` offline.
vercel-tools: venv
	@tools/vercel/setup.sh

test: venv tools vercel-tools
	.venv/bin/python -m pytest

lint: venv
	.venv/bin/ruff check .
