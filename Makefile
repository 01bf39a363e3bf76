# nnviz — `make site` builds everything on a fresh machine; `make test` runs every test.
PY_SYS  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
PORT    ?= 8000
SITE    ?= site
# One BLAS thread: our matrices are small, and two threads made 784-10 training ~20x slower
# here (benchmarks/report.md). Also keeps trained weights identical across runs on a machine.
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: site test serve bench clean setup browser

$(VENV)/.stamp: pyproject.toml
	$(PY_SYS) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.stamp node_modules/.stamp

browser:
	bash scripts/install_chromium.sh

site: setup
	$(PY) -m nnviz.cli build --out $(SITE)

test: setup browser
	$(PY) -m nnviz.cli build --out $(SITE)
	NNVIZ_SITE=$(CURDIR)/$(SITE) $(PY) -m pytest -q

serve: setup
	$(PY) -m nnviz.cli serve --out $(SITE) --port $(PORT)

bench: setup browser
	$(PY) -m pip install -q torch==2.13.0
	$(PY) benchmarks/run.py
	$(PY) -m nnviz.cli build --out $(SITE)
	$(PY) benchmarks/trainlab.py --site $(SITE)
	$(PY) benchmarks/repmap.py --site $(SITE)
	$(PY) benchmarks/cifar.py

clean:
	rm -rf $(SITE) .cache $(VENV) node_modules
