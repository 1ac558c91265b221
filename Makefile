# Two commands for a fresh machine: `make run` (the bot on the embedded default) and `make test`.
SHELL := /bin/bash
VENV := .venv
STAMP := $(VENV)/.installed
export RASA_TELEMETRY_ENABLED := false
export NO_PROXY := 127.0.0.1,localhost
export no_proxy := 127.0.0.1,localhost
# The checkout's own code wins over whatever the venv's editable install points at.
export PYTHONPATH := $(CURDIR)

.PHONY: run test lint venv model bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@bash scripts/make_venv.sh $(VENV)
	@touch $(STAMP)

model: $(STAMP)
	$(VENV)/bin/aftercare nlu train

run: $(STAMP) model
	$(VENV)/bin/aftercare run

test: $(STAMP) model lint
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(VENV)/bin/ruff check bot tests bench
	$(VENV)/bin/mypy bot

bench: $(STAMP) model
	$(VENV)/bin/python -m bench

clean:
	rm -rf $(VENV) models .rasa
