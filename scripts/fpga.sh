#!/usr/bin/env bash
# Builds the bitstream of one board's FPGA top with the iCE40 open flow and reports what it uses:
#   gen-board → yosys synth_ice40 → nextpnr-ice40 → icepack → icetime → report.
#
#   scripts/fpga.sh BOARD              BOARD = alchitry-cu | icebreaker (make fpga BOARD=...)
#                                      colorlight-i5 | colorlight-i9: scripts/synth_ecp5.sh does it
#
# Writes the tools' outputs and logs to out/fpga/BOARD, and reports/fpga_BOARD.{json,md,bin}.
# Fails if a tool fails or timing is not met (nextpnr's or icetime's Fmax below the required clock);
# the logic-cell budget is a target, reported as met or missed, never a failure.
#
# Environment (paths relative to the repo root):
#   FPGA_SKIP_GEN=1    do not run gen-board; build what FPGA_DIR already holds
#   FPGA_DIR=DIR       the board directory (default out/fpga/BOARD): top.v, top.pcf, board.env
#   FPGA_REPORTS=DIR   where the reports go (default reports)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 BOARD   (alchitry-cu | icebreaker | colorlight-i5 | colorlight-i9)" >&2
  echo "       FPGA_SKIP_GEN=1 FPGA_DIR=dir $0 BOARD   builds a prepared directory" >&2
  exit 2
fi
board=$1
# The ECP5 boards have their own flow (Yosys, nextpnr-ecp5, ecppack from YoWASP).
case "$board" in
  colorlight-i5 | colorlight-i9)
    ECP5_BOARD=$board ECP5_DIR=${FPGA_DIR:-} ECP5_REPORTS=${FPGA_REPORTS:-} ECP5_SKIP_GEN=${FPGA_SKIP_GEN:-0} \
      exec bash scripts/synth_ecp5.sh ;;
esac
out=${FPGA_DIR:-out/fpga/$board}
reports=${FPGA_REPORTS:-reports}
seed=1
# nextpnr 0.4's default placer; measured ~4.5x faster than --placer sa for the same Fmax.
placer=heap

bash scripts/setup.sh fpga

die() { echo "fpga: $*" >&2; exit 1; }

# now_ms, secs, run_step (a tick every 10 s), step_failed, step_done.
# shellcheck source=scripts/steps.sh
source scripts/steps.sh
t_start=$(now_ms)

# --- 0. generate ------------------------------------------------------------------------------
mkdir -p "$out"
has_gen_board() { grep -qs '"gen-board"' rtl/Cargo.toml || [ -f rtl/src/bin/gen-board.rs ]; }
if [ "${FPGA_SKIP_GEN:-0}" = 1 ]; then
  echo "[0/5] gen-board: skipped (FPGA_SKIP_GEN=1), building $out"
elif ! has_gen_board; then
  echo "[0/5] gen-board: skipped (no gen-board binary in rtl yet), building what $out holds"
else
  printf '[0/5] gen-board %s %s ...' "$board" "$out"
  # RTL_GEN (make test): the directory of an already built gen-board, with its trailing slash.
  if [ -n "${RTL_GEN:-}" ]; then gen=("${RTL_GEN}gen-board"); else gen=(cargo run -q -p rtl --bin gen-board --); fi
  run_step generate "$out/gen-board.log" "${gen[@]}" "$board" "$out"
  [ "$step_rc" -eq 0 ] || step_failed "$out/gen-board.log" generate
  step_done generate
fi

# --- inputs -----------------------------------------------------------------------------------
for f in top.v top.pcf board.env; do
  [ -f "$out/$f" ] || die "$out/$f missing (gen-board writes it; or prepare $out and set FPGA_SKIP_GEN=1)"
done
# icetime's PCF parser stops at `set_io -nowarn`; nextpnr would accept it, so catch it here.
if grep -q -- '-nowarn' "$out/top.pcf"; then die "$out/top.pcf uses set_io -nowarn, which icetime rejects"; fi

# board.env is read, not sourced: KEY=value lines, '#' comments, only the known keys.
BOARD="" DEVICE="" PACKAGE="" FREQ_MHZ="" LC_BUDGET="" LC_DEVICE="" FMAX_TARGET_MHZ=""
while IFS= read -r line || [ -n "$line" ]; do
  line=${line%%#*}
  line=${line#"${line%%[![:space:]]*}"}
  line=${line%"${line##*[![:space:]]}"}
  [ -z "$line" ] && continue
  key=${line%%=*} value=${line#*=}
  value=${value#[\"\']} value=${value%[\"\']}
  case "$key" in
    BOARD) BOARD=$value ;;
    DEVICE) DEVICE=$value ;;
    PACKAGE) PACKAGE=$value ;;
    FREQ_MHZ) FREQ_MHZ=$value ;;
    LC_BUDGET) LC_BUDGET=$value ;;
    LC_DEVICE) LC_DEVICE=$value ;;
    FMAX_TARGET_MHZ) FMAX_TARGET_MHZ=$value ;;
    *) die "$out/board.env: unknown line '$line'" ;;
  esac
done <"$out/board.env"
FMAX_TARGET_MHZ=${FMAX_TARGET_MHZ:-$FREQ_MHZ}
[ "$BOARD" = "$board" ] || die "$out/board.env is for board '$BOARD', not '$board'"
[[ $DEVICE =~ ^(lp|hx|up|u)[0-9]+k?$ ]] || die "$out/board.env: bad DEVICE '$DEVICE'"
[[ $PACKAGE =~ ^[a-z0-9]+$ ]] || die "$out/board.env: bad PACKAGE '$PACKAGE'"
for key in FREQ_MHZ LC_BUDGET LC_DEVICE FMAX_TARGET_MHZ; do
  [[ ${!key} =~ ^[1-9][0-9]*$ ]] || die "$out/board.env: $key must be a positive integer, is '${!key}'"
done
# The clock must run at FREQ_MHZ; FMAX_TARGET_MHZ may ask for margin above it.
required=$((FMAX_TARGET_MHZ > FREQ_MHZ ? FMAX_TARGET_MHZ : FREQ_MHZ))

# Outputs of an earlier run must not pass for this one's (nextpnr writes top.asc even when
# timing fails).
rm -f "$out"/{top.json,top.asc,top.bin,nextpnr_report.json,icetime.txt}

# --- 1. synthesis -----------------------------------------------------------------------------
printf '[1/5] yosys synth_ice40 -top top (%s/top.v) ...' "$out"
# yosys -q writes its log itself (-l) and only warnings and errors to the terminal: yosys.out.
run_step yosys "$out/yosys.out" \
  yosys -q -l "$out/yosys.log" -p "synth_ice40 -top top -json $out/top.json" "$out/top.v"
[ "$step_rc" -eq 0 ] || step_failed "$out/yosys.log" yosys "$out/yosys.out"
# A latch in an FPGA design is a bug (rust-hdl: a combinational signal not assigned on every
# path); nextpnr would only report it later as a combinational loop.
if grep -q '^Latch inferred for signal' "$out/yosys.log"; then
  grep '^Latch inferred for signal' "$out/yosys.log" | head -5 >&2
  die "yosys inferred a latch (see $out/yosys.log): give the signal a default before its if/match"
fi
warnings=$(sed -n 's/^Warnings: .*, \([0-9]*\) total$/\1/p' "$out/yosys.log" | tail -n 1)
step_done yosys "warnings: ${warnings:-0}, see $out/yosys.log"

# --- 2. place and route -----------------------------------------------------------------------
# nextpnr-ice40 0.4 exits 1 when a clock misses its --freq, but still writes top.asc and the
# report; the verdict is taken from the report, against `required`, either way.
timing_check() { # REPORT.json: prints "timing: ..." per failing clock, exit 1 if any
  python3 - "$1" "$FREQ_MHZ" "$required" <<'PY'
import json, re, sys
report, freq, required = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
fmax = json.load(open(report)).get("fmax", {})
failed = False
for clock, f in sorted(fmax.items()):
    # Clocks at the core frequency must reach the target; derived clocks their own constraint.
    need = required if f["constraint"] == freq else f["constraint"]
    if f["achieved"] < need:
        name = re.sub(r"(\$SB_IO_IN_?)?(\$glb_clk)?$", "", clock) or clock
        print(f"timing: {f['achieved']:.1f} MHz achieved < {need:g} MHz required (nextpnr, clock {name})")
        failed = True
sys.exit(1 if failed else 0)
PY
}
printf '[2/5] nextpnr-ice40 --%s --package %s --freq %s --seed %s --placer %s ...' \
  "$DEVICE" "$PACKAGE" "$FREQ_MHZ" "$seed" "$placer"
run_step nextpnr "$out/nextpnr.log" \
  nextpnr-ice40 "--$DEVICE" --package "$PACKAGE" --pcf "$out/top.pcf" --json "$out/top.json" \
  --asc "$out/top.asc" --freq "$FREQ_MHZ" --report "$out/nextpnr_report.json" \
  --seed "$seed" --placer "$placer"
timing_msg=""
if [ -s "$out/nextpnr_report.json" ]; then
  # Exit 1 = a clock failed (message printed); anything else but 0 = the check itself broke.
  timing_rc=0
  timing_msg=$(timing_check "$out/nextpnr_report.json") || timing_rc=$?
  [ "$timing_rc" -le 1 ] || die "could not read nextpnr's timing report $out/nextpnr_report.json"
fi
if [ -n "$timing_msg" ]; then
  [ "$step_rc" -ne 0 ] || step_rc=1
  echo " FAILED after $(secs "${step_ms[nextpnr]}") s: timing"
  echo "---- last 30 lines of $out/nextpnr.log ----"
  tail -n 30 "$out/nextpnr.log"
  echo "----"
  echo "$timing_msg" >&2
  die "timing not met at $required MHz (critical paths in $out/nextpnr.log)"
fi
[ "$step_rc" -eq 0 ] || step_failed "$out/nextpnr.log" nextpnr
if [ ! -s "$out/top.asc" ] || [ ! -s "$out/nextpnr_report.json" ]; then
  die "nextpnr wrote no top.asc or report (see $out/nextpnr.log)"
fi
step_done nextpnr

# --- 3. bitstream -----------------------------------------------------------------------------
printf '[3/5] icepack top.asc top.bin ...'
run_step icepack "$out/icepack.log" icepack "$out/top.asc" "$out/top.bin"
[ "$step_rc" -eq 0 ] || step_failed "$out/icepack.log" icepack
[ -s "$out/top.bin" ] || die "icepack wrote no $out/top.bin (see $out/icepack.log)"
step_done icepack "$(wc -c <"$out/top.bin") bytes"

# --- 4. static timing, second opinion ---------------------------------------------------------
# icetime exits 1 both when the constraint fails and when it cannot run: its log tells which.
printf '[4/5] icetime -d %s -P %s -c %s ...' "$DEVICE" "$PACKAGE" "$FREQ_MHZ"
run_step icetime "$out/icetime.log" \
  icetime -d "$DEVICE" -P "$PACKAGE" -p "$out/top.pcf" -c "$FREQ_MHZ" -t -r "$out/icetime.txt" "$out/top.asc"
icetime_mhz=$(sed -n 's|^// Timing estimate: .* (\([0-9.]*\) MHz)$|\1|p' "$out/icetime.log" | tail -n 1)
if [ -z "$icetime_mhz" ]; then
  [ "$step_rc" -ne 0 ] || step_rc=1
  step_failed "$out/icetime.log" icetime
fi
checked=$(sed -n 's|^// Checking .* (\([0-9.]*\) MHz) clock constraint: FAILED.*|\1|p' "$out/icetime.log" | tail -n 1)
if [ -n "$checked" ] ||
  python3 -c "import sys; sys.exit(float(sys.argv[1]) >= float(sys.argv[2]))" "$icetime_mhz" "$required"; then
  echo " FAILED after $(secs "${step_ms[icetime]}") s: timing"
  tail -n 30 "$out/icetime.log"
  echo "timing: $icetime_mhz MHz achieved < ${checked:-$required} MHz required (icetime, critical path in $out/icetime.txt)" >&2
  die "timing not met at $required MHz"
fi
[ "$step_rc" -eq 0 ] || step_failed "$out/icetime.log" icetime
step_done icetime "$icetime_mhz MHz"

# --- 5. report --------------------------------------------------------------------------------
echo "[5/5] report: $reports/fpga_$board.{json,md,bin}"
mkdir -p "$reports"
cp "$out/top.bin" "$reports/fpga_$board.bin"
elapsed=""
for name in generate yosys nextpnr icepack icetime; do
  if [ -n "${step_ms[$name]:-}" ]; then elapsed+="$name=$(secs "${step_ms[$name]}") "; fi
done
elapsed+="total=$(secs $(($(now_ms) - t_start)))"
# ${Version} below is dpkg-query's format, not a shell expansion.
# shellcheck disable=SC2016
FPGA_BOARD=$board FPGA_DEVICE=$DEVICE FPGA_PACKAGE=$PACKAGE FPGA_FREQ=$FREQ_MHZ FPGA_REQUIRED=$required \
  FPGA_LC_BUDGET=$LC_BUDGET FPGA_LC_DEVICE=$LC_DEVICE FPGA_ICETIME_MHZ=$icetime_mhz FPGA_ELAPSED=$elapsed \
  FPGA_SEED=$seed FPGA_PLACER=$placer FPGA_REPORTS=$reports \
  FPGA_YOSYS=$(yosys -V | head -n 1) \
  FPGA_NEXTPNR=$(nextpnr-ice40 --version 2>&1 | sed -n 's/.*(Version \(.*\)).*/\1/p') \
  FPGA_ICESTORM=$(dpkg-query -W -f '${Version}' fpga-icestorm 2>/dev/null || echo unknown) \
  python3 - "$out/nextpnr_report.json" <<'PY'
import json, os, re, sys
e = os.environ
board, device, package, reports = e["FPGA_BOARD"], e["FPGA_DEVICE"], e["FPGA_PACKAGE"], e["FPGA_REPORTS"]
freq, required = int(e["FPGA_FREQ"]), int(e["FPGA_REQUIRED"])
lc_budget, lc_device = int(e["FPGA_LC_BUDGET"]), int(e["FPGA_LC_DEVICE"])
icetime_mhz = float(e["FPGA_ICETIME_MHZ"])
elapsed = {k: float(v) for k, v in (kv.split("=") for kv in e["FPGA_ELAPSED"].split())}
tools = {"yosys": e["FPGA_YOSYS"], "nextpnr-ice40": e["FPGA_NEXTPNR"], "icestorm": e["FPGA_ICESTORM"]}

r = json.load(open(sys.argv[1]))
util = r["utilization"]
def resource(name):
    u = util.get(name, {"used": 0, "available": 0})
    return {"used": u["used"], "available": u["available"]}
lc, bram, spram = resource("ICESTORM_LC"), resource("ICESTORM_RAM"), resource("ICESTORM_SPRAM")
if lc["available"] != lc_device:
    print(f"fpga: warning: board.env says LC_DEVICE={lc_device}, nextpnr says {lc['available']}", file=sys.stderr)
lc["budget"] = lc_budget
lc["budget_met"] = lc["used"] <= lc_budget
lc["over_budget_by"] = max(0, lc["used"] - lc_budget)

# nextpnr names a clock after its global buffer net: clock$SB_IO_IN_$glb_clk is pin `clock`.
def short(clock):
    return re.sub(r"(\$SB_IO_IN_?)?(\$glb_clk)?$", "", clock) or clock
clocks = {}
for clock, f in sorted(r["fmax"].items()):
    need = required if f["constraint"] == freq else f["constraint"]
    clocks[clock] = {"name": short(clock), "achieved_mhz": round(f["achieved"], 2),
                     "constraint_mhz": f["constraint"], "required_mhz": need, "met": f["achieved"] >= need}
icetime_met = icetime_mhz >= required
timing_met = all(c["met"] for c in clocks.values()) and icetime_met

data = {
    "board": board, "device": device, "package": package, "freq_mhz": freq, "required_mhz": required,
    "tools": tools, "seed": int(e["FPGA_SEED"]), "placer": e["FPGA_PLACER"],
    "lc": lc, "bram_4k": bram, "spram_256k": spram,
    "fmax_nextpnr": clocks, "fmax_icetime_mhz": icetime_mhz, "icetime_met": icetime_met,
    "timing_met": timing_met, "bitstream": f"{reports}/fpga_{board}.bin", "elapsed_s": elapsed,
}
with open(f"{reports}/fpga_{board}.json", "w") as fh:
    json.dump(data, fh, indent=2)
    fh.write("\n")

def use(u):
    return f"{100 * u['used'] / u['available']:.1f} %" if u["available"] else "-"
budget = f"<= {lc_budget} ({100 * lc_budget / lc['available']:.0f} %): " + (
    "met" if lc["budget_met"] else f"missed by {lc['over_budget_by']} cells")
met = lambda ok: "met" if ok else "MISSED"
rows = [("logic cells", lc["used"], lc["available"], use(lc), budget),
        ("block RAM (4K)", bram["used"], bram["available"], use(bram), ""),
        ("SPRAM", spram["used"], spram["available"], use(spram), "")]
fmax = [(f"Fmax ({c['name']})", c["achieved_mhz"], c["required_mhz"], met(c["met"])) for c in clocks.values()]

print(f"{board} (iCE40 {device} {package}), core clock {freq} MHz")
print(f"{'resource':<15}{'used':>6}{'available':>12}   {'use':<8}target")
for name, used, avail, u, target in rows:
    print(f"{name:<15}{used:>6}{avail:>12}{u:>8}  {target}".rstrip())
for i, (name, ach, req, verdict) in enumerate(fmax):
    extra = f"   (icetime: {icetime_mhz:.1f} MHz{'' if icetime_met else ' MISSED'})" if i == 0 else ""
    print(f"{name:<13}{ach:>5.1f} MHz{req:>8.1f} MHz required: {verdict}{extra}")

yosys_version = tools["yosys"].split(" (")[0]
md = [f"**{board}** (iCE40 {device} {package}), core clock {freq} MHz; {yosys_version}, "
      f"nextpnr-ice40 {tools['nextpnr-ice40']} (seed {data['seed']}), icetime {tools['icestorm']}", "",
      "| resource | used | available | use | target |", "|---|---:|---:|---:|---|"]
md += [f"| {n} | {u} | {a} | {p} | {t.replace('<=', '≤')} |" for n, u, a, p, t in rows]
md += [f"| {n} | {a:.1f} MHz | {q:.1f} MHz required | | {v} |" for n, a, q, v in fmax]
md += [f"| Fmax (icetime, all paths) | {icetime_mhz:.1f} MHz | {required:.1f} MHz required | | {met(icetime_met)} |"]
with open(f"{reports}/fpga_{board}.md", "w") as fh:
    fh.write("\n".join(md) + "\n")
sys.exit(0 if timing_met else 1)
PY
echo "wrote $reports/fpga_$board.json, $reports/fpga_$board.md, $reports/fpga_$board.bin"
