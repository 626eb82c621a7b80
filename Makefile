# massline: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export FLASK_APP := massline

.PHONY: install run test serve-prod lint format translations clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy --statistics -d massline/translations

install: $(STAMP) translations

run: install
	$(BIN)/flask setup --demo
	$(BIN)/flask run --host 127.0.0.1 --port 5000

test: install
	$(BIN)/pytest -q

serve-prod: install
	$(BIN)/flask setup
	$(BIN)/gunicorn --workers 4 --bind 127.0.0.1:8000 --access-logfile - wsgi:app

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Refresh the message catalogs after changing user-visible strings (keywords: see babel.cfg),
# then translate every new zh_CN entry: tests/test_i18n.py fails on any left empty or fuzzy.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l --project=massline -o massline/translations/messages.pot .
	$(BIN)/pybabel update --ignore-obsolete --no-fuzzy-matching -i massline/translations/messages.pot -d massline/translations
	$(BIN)/pybabel compile --statistics -d massline/translations

clean:
	rm -rf $(VENV) instance .pytest_cache
