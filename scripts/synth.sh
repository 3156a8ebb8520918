#!/usr/bin/env bash
# Synthesizes the FPGA configuration of the SoC for the iCE40 with yosys and prints (and writes
# reports/synth.json with) the cells it maps to. Fails if yosys fails.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p reports out
# The FPGA configuration is generated here, not committed (rtl::FPGA_VERILOG_FILES).
cargo run -q -p rtl --bin gen-verilog -- --fpga out/verilog
src=out/verilog/soc_fpga.v
yosys -q -l out/synth.log -p "synth_ice40 -top top -json out/soc_fpga.json; tee -q -o out/synth_stat.txt stat" "$src"
count() { awk -v c="$1" '$1 == c { s += $2 } END { print s + 0 }' out/synth_stat.txt; }
luts=$(count SB_LUT4)
carry=$(count SB_CARRY)
ffs=0
for c in $(awk '$1 ~ /^SB_DFF/ { print $1 }' out/synth_stat.txt | sort -u); do ffs=$((ffs + $(count "$c"))); done
brams=$(count SB_RAM40_4K)
printf '%-28s %8s\n' "iCE40 synthesis ($src)" "cells"
printf '%-28s %8d\n' "SB_LUT4" "$luts" "SB_CARRY" "$carry" "flip-flops (SB_DFF*)" "$ffs" "SB_RAM40_4K" "$brams"
cat > reports/synth.json <<JSON
{ "source": "$src", "yosys": "$(yosys -V | head -1)", "lut4": $luts, "carry": $carry, "ff": $ffs, "bram_4k": $brams }
JSON
echo "wrote reports/synth.json"
