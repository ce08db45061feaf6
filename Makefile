# The two commands: `make demo` and `make test`. Everything else here serves them.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
# The test suite's services (design §10): PostgreSQL and Redis on this machine.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/qionglai
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# The suite runs in this many processes (pytest-xdist; each with its own test database and Redis
# database, qionglai/settings.py), so the one long test (the demo build on PostgreSQL) runs beside
# the rest. xdist's default `load` scheduling hands each process its tests in collection order,
# which keeps tests/conftest.py's rule (the serialized-rollback test before any other
# transactional test of its database); `worksteal` would not. `--maxschedchunk 1` hands tests
# out one at a time near the end, so at most two wait behind the demo build on its process
# (in chunks, the last browser tests queued behind it for 8 minutes while the other process
# idled). PYTEST_WORKERS=0: one process.
PYTEST_WORKERS ?= 2

.PHONY: demo test install install-demo browser lint format serve benchmarks clean

# Two stamps: `make demo` needs the runtime and time-machine only (the `demo` extra: none of
# playwright, schemathesis, hypothesis and what they pull in); `make test` installs the dev
# extras, which include the demo's, so after it the demo's stamp holds too. The demo installs
# the dependencies pyproject.toml lists, not the project itself (the apps run from the
# repository; building its empty editable wheel would fetch setuptools first), with the venv's
# own pip as it is (an upgrade is a download it does not need).
$(BIN)/.installed-demo: pyproject.toml
	@test -x $(BIN)/python || "$$(.ci/python)" -m venv $(VENV)
	@$(BIN)/python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
	  print("\n".join(p["dependencies"] + p["optional-dependencies"]["demo"]))' >$(VENV)/requirements-demo.txt
	$(BIN)/python -m pip install --quiet -r $(VENV)/requirements-demo.txt
	@touch $@

$(BIN)/.installed: pyproject.toml
	@test -x $(BIN)/python || "$$(.ci/python)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@ $(BIN)/.installed-demo

install: $(BIN)/.installed

install-demo: $(BIN)/.installed-demo

# Debian's Chromium, its Chinese interface strings (chromium-l10n: the file button reads 选择文件
# as on a Chinese phone) and CJK fonts for the Playwright tests; never a downloaded browser.
browser:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "Noto.*CJK" \
	  && [ -e /usr/lib/chromium/locales/zh-CN.pak ] || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-l10n fonts-noto-cjk >/dev/null; \
	  else echo "browser tests need: sudo apt-get install chromium chromium-l10n fonts-noto-cjk"; fi; }

# one console line per step: migrate's own list of ~70 "Applying …" lines is left out (-v 0);
# an error still prints
demo: install-demo
	@printf '%s' '数据库迁移……'; $(BIN)/python manage.py migrate --noinput -v 0 && echo ' ✓'
	$(BIN)/python manage.py build_demo
	$(BIN)/python manage.py rundemo --port $(PORT)

test: install browser
	@# models against migrations needs no database: an in-memory one, so a machine without the
	@# (never used) non-test database does not warn that it could not check its history
	DATABASE_URL=sqlite://:memory: CELERY_EAGER=1 \
	  $(BIN)/python manage.py makemigrations --check --dry-run >/dev/null || \
	  { echo "models and migrations disagree: run manage.py makemigrations"; exit 1; }
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) CELERY_EAGER=1 \
	  $(BIN)/pytest -n $(PYTEST_WORKERS) --maxschedchunk 1 $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

benchmarks: install
	$(BIN)/python benchmarks/run.py $(BENCH)

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles
