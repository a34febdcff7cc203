# Two entry points for a newcomer: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test test-deps bench clean install upgrade uninstall

$(BIN)/edge: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/edge

setup: $(BIN)/edge

demo: setup
	$(BIN)/edge run --config config/demo.toml

# System packages and PostgreSQL the tests need (as root; see .ci/test-deps).
test-deps:
	bash .ci/test-deps

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info

# On the device, as root: virtualenv in /opt/classroom-edge, unit, config (see systemd/README.md).
install:
	systemd/install.sh install

upgrade:
	systemd/install.sh upgrade

uninstall:
	systemd/install.sh uninstall
