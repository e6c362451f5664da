# Two entry points for a fresh machine: `make run` and `make test`. Both build .venv from the pinned files.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test chat lint eval bench soak clean

$(VENV)/.runtime: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	$(PY) -m bot run

chat: $(VENV)/.runtime
	$(PY) -m bot chat

test: $(VENV)/.dev
	$(VENV)/bin/ruff check bot tests
	$(VENV)/bin/mypy bot
	$(PY) -m bot lint
	$(PY) -m pytest -n auto --dist loadfile

lint: $(VENV)/.runtime
	$(PY) -m bot lint

eval: $(VENV)/.runtime
	$(PY) -m bot eval

bench: $(VENV)/.dev
	$(PY) -m bot bench

# Not part of `make test`: a flood of Telegram webhook updates, kill -9 and restart, on 127.0.0.1 (under a minute).
soak: $(VENV)/.dev
	$(PY) scripts/soak.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
