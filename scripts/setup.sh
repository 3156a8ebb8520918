#!/usr/bin/env bash
# Installs the system tools a target needs, only those that are missing (Debian/Ubuntu, apt).
#   scripts/setup.sh sim     verilator
#   scripts/setup.sh test    verilator, yosys, iverilog, tshark (checks the forward app's pcap FCS)
#   scripts/setup.sh bench   verilator, iverilog
#   scripts/setup.sh fpga    yosys, nextpnr-ice40, icestorm (icepack, icetime, iceprog) and
#                            icetime's chip database
#   scripts/setup.sh all     everything above plus gtkwave
set -euo pipefail

want=()
case "${1:-all}" in
  sim)   want=(verilator) ;;
  test)  want=(verilator yosys iverilog tshark) ;;
  bench) want=(verilator iverilog) ;;
  fpga)  want=(yosys nextpnr-ice40 icepack icestorm-chipdb) ;;
  all)   want=(verilator yosys iverilog nextpnr-ice40 icepack icestorm-chipdb gtkwave tshark) ;;
  *) echo "usage: $0 [sim|test|bench|fpga|all]" >&2; exit 2 ;;
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
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing=()
for tool in "${want[@]}"; do
  have "$tool" || missing+=("$(package_of "$tool")")
done
[ ${#missing[@]} -eq 0 ] && exit 0

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
