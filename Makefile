# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install -q -c constraints.txt

.PHONY: run test lint bench clean

$(BIN)/musicrec: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) torch==2.13.0
	$(PIP) -e '.[dev,text]'
	# MusiCNN's weights (data only, never imported): its own requirements (tensorflow,
	# numpy<1.17) cannot live beside ours, so it is installed without them.
	$(PIP) --no-deps musicnn==0.1.0
	touch $@

# With a display: the tray app. Without one: the whole job headless, on the demo library when no
# player or music folder is configured.
run: $(BIN)/musicrec
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ] && [ -z "$$MUSICREC_HEADLESS" ]; then \
		$(BIN)/musicrec tray; \
	else \
		$(BIN)/musicrec run; \
	fi

lint: $(BIN)/musicrec
	$(BIN)/ruff check musicrec_desktop plugin tests bench

test: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: $(BIN)/musicrec
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist *.egg-info
