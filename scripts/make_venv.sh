#!/usr/bin/env bash
# Create the project's virtualenv with Python 3.10 (Rasa Open Source 3.6 needs it) and install
# the project into it. Used by `make run` and `make test`.
set -euo pipefail
venv=${1:-.venv}

find_python() {
    for candidate in python3.10 "$HOME"/.pyenv/versions/3.10.*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

if [ ! -x "$venv/bin/python" ]; then
    if ! py=$(find_python); then
        cat >&2 <<'MSG'
error: Python 3.10 is required (Rasa Open Source 3.6.21 supports 3.8-3.10 only) and none was found.
Install it, then run the make command again, for example:
  pyenv install 3.10.13          # https://github.com/pyenv/pyenv
  or: sudo apt-get install python3.10 python3.10-venv
MSG
        exit 1
    fi
    echo "creating $venv with $py"
    "$py" -m venv "$venv"
fi
# packaging stays < 21 (Rasa 3.6 pins it): an upgraded wheel would otherwise pull in one Rasa cannot import.
# setuptools as Rasa 3.6.21 pins it (>=70.3,<70.4): any other version here makes pip's resolver print an
# ERROR on a venv that already holds Rasa (a re-run after pyproject.toml changed).
"$venv/bin/python" -m pip install --quiet --upgrade "pip>=23,<25" "setuptools>=70.3,<70.4" "wheel>=0.42,<1" "packaging>=20,<21"
echo "installing aftercare and its dependencies into $venv (Rasa is large: a few minutes the first time)"
"$venv/bin/python" -m pip install --quiet -e ".[test]"
