#!/usr/bin/env bash
# make soak: every randomized suite for a share of SOAK_SECS seconds (default 600) with new
# seeds, in the hostile mix (SOAK_MIX=default for the ordinary one), then what they checked.
#   SOAK_SECS=3600 bash scripts/soak.sh
# Each suite counts up from its own start seed until its time is up (the `soak` crate:
# DMANIC_SOAK_SECS, DMANIC_SOAK_MIX, DMANIC_SOAK_REPORT); a failing seed is printed at once
# with the one command that reproduces it, and the run goes on. Exit status 1 if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${SOAK_SECS:-600}
mix=${SOAK_MIX:-hostile}
out=${OUT:-out}/soak
mkdir -p "$out"
report="$out/report.jsonl"
rm -f "$report"

bash scripts/setup.sh sim
echo "soak: building the test binaries (not counted in the soak time)"
cargo test -q --no-run -p rtl --lib
cargo test -q --no-run -p testbench --test memcpy --test iommu --test nic_stress
cargo build -q -p testbench --bin soak-report

# suite (cargo arguments) | share of the time in percent | test threads (the suite's tests
# that run at once, each for the whole share)
suites=(
  "-p testbench --test nic_stress random_configurations|40|4"
  "-p testbench --test iommu the_memcpy_suite_through_the_dma_api_with_the_iommu_on|15|1"
  "-p testbench --test memcpy random|15|2"
  "-p rtl --lib iommu::tests::random_tables_and_accesses_agree_with_the_reference_walk|10|1"
  "-p rtl --lib nic::rx_dma::tests::rx_random_stress_matches_a_model_of_the_ring|10|1"
  "-p rtl --lib nic::tx_dma::tests::tx_random_stress_matches_a_model_of_the_ring|10|1"
)

status=0
k=0
done_secs=0
for s in "${suites[@]}"; do
  IFS='|' read -r args share threads <<<"$s"
  t=$(( secs * share / 100 ))
  [ "$t" -ge 1 ] || t=1
  k=$(( k + 1 ))
  # Progress: which suite, and how much of the soak time is behind (each suite runs for its
  # share, so this is also the time left).
  echo "soak: [$k/${#suites[@]}, ${done_secs} of ${secs} s done] cargo test $args (${t} s, mix $mix), until $(date -d "+${t} seconds" +%T)"
  done_secs=$(( done_secs + t ))
  # shellcheck disable=SC2086
  if ! DMANIC_SOAK_SECS=$t DMANIC_SOAK_MIX=$mix DMANIC_SOAK_REPORT="$PWD/$report" \
      cargo test -q $args -- --test-threads="$threads" >"$out/last.log" 2>&1; then
    status=1
    grep -E "FAILED|reproduce:" "$out/last.log" | head -40 || true
  fi
done
cargo run -q -p testbench --bin soak-report -- "$report" --secs "$secs" --markdown "$out/summary.md" || status=1
exit $status
