# shellcheck shell=bash disable=SC2034  # step_rc and step_ms are read by the sourcing script
# Sourced by scripts/fpga.sh and scripts/synth_ecp5.sh: timing and running a flow's steps.

# Time in milliseconds (bash 5: EPOCHREALTIME, with the locale's decimal separator).
now_ms() { local t=${EPOCHREALTIME//[.,]/}; echo $((t / 1000)); }
secs() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }

# run_step NAME OUTPUT CMD...: runs CMD in the background with its output in OUTPUT, prints the
# elapsed time every STEP_TICK seconds (default 10), and leaves the exit code in step_rc and
# the milliseconds in step_ms[NAME]. An exit of the sourcing script kills a step still running.
declare -A step_ms=()
tool_pid=""
trap '[ -n "$tool_pid" ] && kill "$tool_pid" 2>/dev/null; true' EXIT
run_step() {
  local name=$1 output=$2; shift 2
  local t0 every=${STEP_TICK:-10}
  local tick=$every
  t0=$(now_ms)
  "$@" >"$output" 2>&1 &
  tool_pid=$!
  while kill -0 "$tool_pid" 2>/dev/null; do
    sleep 0.1
    if [ $(($(now_ms) - t0)) -ge $((tick * 1000)) ]; then
      printf ' %ds' "$tick"
      tick=$((tick + every))
    fi
  done
  step_rc=0
  wait "$tool_pid" || step_rc=$?
  tool_pid=""
  step_ms[$name]=$(($(now_ms) - t0))
}

# step_failed LOG NAME [OUTPUT]: the last lines of LOG (or of the tool's OUTPUT if it left no
# log), where it is, and the exit through the sourcing script's `die`.
step_failed() {
  local log=$1
  [ -s "$log" ] || log=${3:-$1}
  echo " FAILED after $(secs "${step_ms[$2]}") s (exit $step_rc)"
  echo "---- last 30 lines of $log ----"
  tail -n 30 "$log" 2>/dev/null || true
  echo "----"
  die "$2 failed, full log: $log"
}
step_done() { echo " done in $(secs "${step_ms[$1]}") s${2:+ ($2)}"; }
