#!/usr/bin/env bash
# Civic Forms developer entry point.
#
#   ./manage.sh setup              venv + Python deps, npm deps, build assets,
#                                  migrate the database and load form definitions
#   ./manage.sh serve [args...]    setup, then run the development server
#   ./manage.sh test [pytest args] venv + deps + assets, then run pytest on two workers
#   ./manage.sh lock [uv args...]  re-resolve requirements.lock after a change to
#                                  pyproject.toml (--upgrade, --upgrade-package NAME)
#
# Python packages come from requirements.lock, every one pinned with its hashes.
# Re-running is cheap: pip and npm are skipped while pyproject.toml,
# requirements.lock and package-lock.json are unchanged (stamp files under .venv/
# and node_modules/).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
PIP_STAMP="$VENV/.civicforms-pip-stamp"
LOCK_FILE="requirements.lock"
# The lock tool, pinned like everything else so that re-locking is reproducible.
UV_VERSION=0.13.9
NPM_STAMP="$ROOT/node_modules/.civicforms-npm-stamp"
MIN_NODE_MAJOR=20

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'manage.sh: error: %s\n' "$*" >&2; exit 1; }

usage() {
    cat >&2 <<'EOF'
Usage: ./manage.sh <command> [args...]

Commands:
  setup              create .venv, install Python and npm dependencies, build
                     front-end assets, run "civicforms db upgrade" and
                     "civicforms load --create-departments"
  serve [args...]    setup, then run the server on http://127.0.0.1:5000
  test [args...]     install dependencies and build assets, then run pytest
                     on two workers with the given arguments (-n 0: serially)
  lock [args...]     re-resolve requirements.lock from pyproject.toml with uv
                     (kept pins stay; --upgrade or --upgrade-package NAME moves them)
EOF
}

# Print a SHA-256 of the given files' contents (portable across Linux/macOS).
hash_files() {
    if command -v sha256sum >/dev/null 2>&1; then
        cat "$@" | sha256sum | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        cat "$@" | shasum -a 256 | cut -d' ' -f1
    else
        cat "$@" | "$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
    fi
}

# True if the given interpreter runs and is Python >= 3.11.5 (the oldest that every locked
# package supports: soupsieve, for the tests, needs 3.11.5).
python_ok() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11, 5) else 1)' >/dev/null 2>&1
}

find_python() {
    local candidate
    for candidate in python3.13 python3.12 python3.11 python3; do
        # pyenv shims exist for versions that are not installed: run them to check.
        if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

ensure_venv() {
    if [[ -x "$VENV/bin/python" ]] && python_ok "$VENV/bin/python"; then
        return 0
    fi
    local python
    python="$(find_python)" || die "Python 3.11.5 or newer is required (tried python3.13, python3.12, python3.11, python3).
Install it (Debian/Ubuntu: apt-get install python3 python3-venv) and re-run."
    if [[ -e "$VENV" ]]; then
        say "Recreating $VENV (existing one is broken or older than Python 3.11.5)"
        rm -rf "$VENV"
    fi
    say "Creating $VENV with $python ($("$python" --version 2>&1))"
    "$python" -m venv "$VENV" || die "could not create $VENV with $python.
On Debian/Ubuntu install the venv module: apt-get install python3-venv"
}

ensure_python_deps() {
    [[ -f "$LOCK_FILE" ]] || die "$LOCK_FILE is missing (./manage.sh lock makes it)"
    local want
    want="$(hash_files pyproject.toml "$LOCK_FILE")-$("$VENV/bin/python" -c 'import sys; print(sys.version)' | head -n1)"
    if [[ -f "$PIP_STAMP" && "$(cat "$PIP_STAMP")" == "$want" && -x "$VENV/bin/civicforms" ]]; then
        return 0
    fi
    say "Installing Python dependencies (pip install --require-hashes -r $LOCK_FILE)"
    # Exactly the locked versions, each checked against its hash; then the project itself,
    # which brings nothing else (--no-deps), so the lock is the whole environment.
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet --require-hashes -r "$LOCK_FILE"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet --no-deps -e .
    printf '%s\n' "$want" > "$PIP_STAMP"
}

check_node() {
    command -v node >/dev/null 2>&1 \
        || die "Node.js $MIN_NODE_MAJOR or newer is required but \"node\" was not found on PATH."
    command -v npm >/dev/null 2>&1 \
        || die "npm is required but was not found on PATH (it normally comes with Node.js)."
    local major
    major="$(node -p 'process.versions.node.split(".")[0]')"
    [[ "$major" =~ ^[0-9]+$ && "$major" -ge "$MIN_NODE_MAJOR" ]] \
        || die "Node.js $MIN_NODE_MAJOR or newer is required, found $(node --version)."
}

ensure_node_deps() {
    check_node
    [[ -f package-lock.json ]] || die "package-lock.json is missing"
    local want
    want="$(hash_files package.json package-lock.json)-$(node --version)"
    if [[ -f "$NPM_STAMP" && "$(cat "$NPM_STAMP")" == "$want" ]]; then
        return 0
    fi
    say "Installing npm dependencies (npm ci)"
    npm ci --no-audit --no-fund
    printf '%s\n' "$want" > "$NPM_STAMP"
}

# Re-resolve requirements.lock with uv, installed at a pinned version in a venv of its own
# (never in .venv, which must hold only what the lock says). Universal: one file with
# environment markers for every platform and Python 3.11.5 and newer (some locked packages
# need 3.11.5), with the hashes of every wheel, so it installs on Linux and macOS, 3.11-3.13.
lock() {
    local tools="${TMPDIR:-/tmp}/civicforms-lock-tools-$UV_VERSION" python
    if [[ ! -x "$tools/bin/uv" ]]; then
        python="$(find_python)" || die "Python 3.11 or newer is required to run uv"
        say "Installing uv $UV_VERSION into $tools"
        "$python" -m venv "$tools"
        "$tools/bin/python" -m pip install --disable-pip-version-check --quiet "uv==$UV_VERSION"
    fi
    say "Resolving $LOCK_FILE"
    "$tools/bin/uv" pip compile pyproject.toml --extra dev --universal --python-version 3.11.5 \
        --generate-hashes --custom-compile-command "./manage.sh lock" --quiet \
        --output-file "$LOCK_FILE" "$@"
}

build_assets() {
    npm run --silent build
}

prepare() {
    ensure_venv
    ensure_python_deps
    ensure_node_deps
    build_assets
}

setup() {
    # manage.sh is the local developer entry point: unless told otherwise, run
    # the CLI in development mode (generated secret key and SQLite database
    # under instance/, as "civicforms serve" does). Production deployments
    # set CIVICFORMS_ENV and friends themselves.
    export CIVICFORMS_ENV="${CIVICFORMS_ENV:-development}"
    prepare
    say "Migrating the database (civicforms db upgrade)"
    "$VENV/bin/civicforms" db upgrade
    # The shipped examples name their departments; a development database makes them (a real
    # deployment creates its departments deliberately: README, "The command line, for IT").
    say "Loading form definitions (civicforms load --create-departments)"
    "$VENV/bin/civicforms" load --create-departments
}

command="${1:-}"
[[ $# -gt 0 ]] && shift

case "$command" in
    setup)
        setup
        ;;
    serve)
        setup
        # A fresh machine has no clamd: files are then kept unscanned (development only, and
        # every file page says so). With CIVICFORMS_CLAMD_ADDRESS set, they are scanned.
        if [[ -z "${CIVICFORMS_CLAMD_ADDRESS:-}" ]]; then
            export CIVICFORMS_ALLOW_UNSCANNED_UPLOADS="${CIVICFORMS_ALLOW_UNSCANNED_UPLOADS:-1}"
        fi
        exec "$VENV/bin/civicforms" serve --host 127.0.0.1 --port 5000 "$@"
        ;;
    test)
        prepare
        # On both cores (pytest-xdist): each worker has its own SQLite template, PostgreSQL schema,
        # servers on ports of its own and temporary folders; a test file's tests stay together on
        # one worker (--dist loadfile), as its module fixtures expect. Arguments come after, so
        # "-n 0" runs serially and "-n 4" on four.
        exec "$VENV/bin/pytest" -n 2 --dist loadfile "$@"
        ;;
    lock)
        lock "$@"
        ;;
    -h|--help|help)
        usage
        ;;
    "")
        usage
        exit 2
        ;;
    *)
        printf 'manage.sh: unknown command "%s"\n\n' "$command" >&2
        usage
        exit 2
        ;;
esac
