# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The suite runs twice: on the machine's real PostgreSQL and Redis, and embedded as `make run`
# runs without them (SQLite in var/, the in-memory channel layer, jobs in process). Tests that
# need PostgreSQL or Redis are marked so and skipped in the embedded run.
TEST_ENV := DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/supportdesk} \
	REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/15} DEBUG=1
EMBEDDED_TEST_ENV := DATABASE_URL= REDIS_URL= DEBUG=1

.PHONY: run test install catalogues messages lint clean

install: $(STAMP) catalogues

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# setuptools' note that folders named like our packages take precedence is how we want it.
	PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Compile the .po catalogues with Babel: no system gettext needed.
catalogues: $(STAMP)
	$(VENV)/bin/pybabel compile --domain django --directory locale --statistics

run: install
	$(PY) -m supportdesk.launcher

# Both runs always run, side by side: each is one process and the machine has two cores. The
# embedded run's report is printed after the PostgreSQL run's; the target fails if either failed.
test: install
	@echo "== layers: lint-imports (the contracts in pyproject.toml)"
	@$(VENV)/bin/lint-imports --no-cache
	@mkdir -p var
	@echo "== tests on PostgreSQL and Redis (and embedded beside them, reported below)"
	@$(EMBEDDED_TEST_ENV) $(PY) -m pytest -q > var/embedded-tests.log 2>&1 & embedded_run=$$!; \
	$(TEST_ENV) $(PY) -m pytest -q; postgresql=$$?; \
	wait $$embedded_run; embedded=$$?; \
	echo "== tests embedded: SQLite and the in-memory channel layer"; cat var/embedded-tests.log; \
	test $$postgresql -eq 0 -a $$embedded -eq 0

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) var

# Refresh the catalogues from the source (needs GNU gettext's xgettext, a developer tool).
messages: $(STAMP)
	$(PY) manage.py makemessages -l sv -l es -l de -l zh_Hans -l ja -e html,txt,py \
		--ignore=.venv --ignore=var --ignore=bench -v 0
