# citymind — two commands on a fresh machine: `make run` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.citymind-installed
PYTEST_ARGS ?=
# pytest-xdist workers for `make test` (0: one process); each file stays on one worker, the e2e tests on one
TEST_WORKERS ?= 2

.PHONY: install run test check format bench examples clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	@$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev,train]' 2>&1 \
		| grep -vE '^WARNING: Location|BuildBackendWarning|^ *!!|^ *\*+|^ *$$|corresp|strategy|Please|By 20|See https|Editable|name as your' || true
	@$(PY) -c "import registry, models, rules, knowledge_graph, training, events, serving, citymind" 
	@touch $(STAMP)

install: $(STAMP)

run: install  ## bootstrap the embedded registry with the default assets and start the platform
	$(VENV)/bin/citymind bootstrap
	$(VENV)/bin/citymind serve

test: install  ## the whole suite (real MLflow, real Ray Serve, real onnxruntime)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

check: install  ## ruff (format + lint), mypy and the layers (import-linter)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install  ## every benchmark, each printing JSON (installs the peers they compare against)
	@$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev,train,bench]' 2>&1 | grep -v '^WARNING: Location' || true
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b; done

examples: install  ## the README's request bodies from ../shared/data (committed: examples/*.json)
	$(PY) examples/make_examples.py

clean:
	rm -rf .citymind .pytest_cache .mypy_cache .ruff_cache
