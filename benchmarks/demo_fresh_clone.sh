#!/usr/bin/env bash
# `make demo` from a fresh clone, timed phase by phase (issue #14 §3: under 3 minutes to the
# first page on this machine).
#
#   benchmarks/demo_fresh_clone.sh [STEP…]      STEP: clone install demo (default: all three)
#
# clone    git clone of this checkout's branch (BRANCH) into DIR, no venv
# install  `make install-demo` in DIR: a fresh venv from the registries (what `make demo` runs
#          first); the wall time is printed
# install-dev  the reference: a fresh venv with pip upgraded and the dev extras (what
#          `make demo` installed before the demo extra), in DIR/.venv-dev
# demo     `make demo PORT=$PORT` in DIR in the background (the install stamp is then already
#          there when `install` ran before): migrate, build_demo (each step's line with its
#          seconds), then curl polls the first page until it answers 200; the server is stopped
#
# Timed steps should run under the exclusive lock (docs: common measuring rules), e.g.
#   benchmarks/demo_fresh_clone.sh clone
#   flock /tmp/gate.lock flock -x /tmp/quiet.lock benchmarks/demo_fresh_clone.sh install
#   flock /tmp/gate.lock flock -x /tmp/quiet.lock benchmarks/demo_fresh_clone.sh demo
# The load average is printed before and after each step.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
BRANCH="${BRANCH:-$(git -C "$REPO" rev-parse --abbrev-ref HEAD)}"
DIR="${DIR:-/tmp/demo_fresh_clone}"
PORT="${PORT:-8140}"
STEPS=("$@")
[ ${#STEPS[@]} -gt 0 ] || STEPS=(clone install demo)

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
load() { echo "  load: $(uptime | sed 's/.*load average: //') ($(date -u +%H:%M:%S) UTC)"; }

for step in "${STEPS[@]}"; do
  case "$step" in
  clone)
    rm -rf "$DIR"
    git clone --quiet --branch "$BRANCH" "$REPO" "$DIR"
    echo "clone: $DIR at $(git -C "$DIR" log --oneline -1)"
    ;;
  install)
    load
    rm -rf "$DIR/.venv"
    t0=$(now)
    make -C "$DIR" --no-print-directory install-demo
    echo "install (fresh venv, make install-demo): $(since "$t0") s"
    echo "  packages: $("$DIR/.venv/bin/python" -m pip list 2>/dev/null | tail -n +3 | wc -l)"
    load
    ;;
  install-dev)
    # the reference: what `make demo` installed before (pip upgraded, then the dev extras)
    load
    rm -rf "$DIR/.venv-dev"
    t0=$(now)
    "$("$DIR/.ci/python")" -m venv "$DIR/.venv-dev"
    "$DIR/.venv-dev/bin/python" -m pip install --quiet --upgrade pip
    (cd "$DIR" && .venv-dev/bin/python -m pip install --quiet -e ".[dev]")
    echo "reference install (fresh venv, pip upgraded, .[dev]): $(since "$t0") s"
    echo "  packages: $("$DIR/.venv-dev/bin/python" -m pip list 2>/dev/null | tail -n +3 | wc -l)"
    load
    ;;
  demo)
    load
    rm -f "$DIR/db.sqlite3" "$DIR/db.sqlite3-wal" "$DIR/db.sqlite3-shm"
    log="$DIR/demo.log"
    t0=$(now)
    # each output line stamped with the seconds since the start (the phases are read off them);
    # setsid makes make the leader of its own process group, which is stopped at the end
    setsid make -C "$DIR" --no-print-directory demo PORT="$PORT" \
      > >(while IFS= read -r line; do printf '%7s  %s\n' "$(since "$t0")" "$line"; done >"$log") 2>&1 &
    group=$!
    code=000
    while [ "$code" != 200 ]; do
      sleep 0.5
      code=$(curl -s -o /dev/null -w '%{http_code}' -L "http://127.0.0.1:$PORT/" || true)
      if ! kill -0 "$group" 2>/dev/null; then
        echo "make demo ended before the first page answered:"; cat "$log"; exit 1
      fi
    done
    first_page=$(since "$t0")
    kill -- -"$group" 2>/dev/null || true
    wait "$group" 2>/dev/null || true
    sleep 0.5
    echo "make demo PORT=$PORT (seconds since it started, then its line):"
    grep -E '✓|示范数据已就绪' "$log" || true
    echo "first page answered 200 at $first_page s"
    load
    ;;
  *) echo "unknown step $step (clone, install, install-dev, demo)"; exit 2 ;;
  esac
done
