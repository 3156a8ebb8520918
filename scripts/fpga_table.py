#!/usr/bin/env python3
"""The README's board table: one row per board from the reports make fpga wrote.

    python3 scripts/fpga_table.py reports/fpga_BOARD.json... > reports/fpga_boards.md

Reads the iCE40 reports (scripts/fpga.sh) and the ECP5 boards' (scripts/synth_ecp5.sh board
mode) and writes what each bitstream holds, how much of its part it uses and its clocks' Fmax
against what they need. `make fpga-all` puts the table into README.md.
"""
import json
import sys

HOLDS = {
    "alchitry-cu": "UART bridge, memcpy, IOMMU (no NIC: it does not fit)",
    "icebreaker": "UART bridge, memcpy (no IOMMU, no NIC)",
    "colorlight-i5": "UART bridge, memcpy, IOMMU, **NIC** on RGMII 100 Mb/s",
    "colorlight-i9": "UART bridge, memcpy, IOMMU, **NIC** on RGMII 100 Mb/s",
}

rows = ["| board | part | bitstream holds | logic used | Fmax / required | timing |",
        "|---|---|---|---:|---|---|"]
for path in sys.argv[1:]:
    with open(path) as fh:
        r = json.load(fh)
    if "board" in r:  # iCE40 (scripts/fpga.sh)
        board = r["board"]
        part = f"iCE40 {r['device'].upper()} {r['package']}"
        lc = r["lc"]
        used = f"{lc['used']} / {lc['available']} LCs ({100 * lc['used'] / lc['available']:.0f} %)"
        clocks = [(n, c["achieved_mhz"], c["required_mhz"]) for n, c in r["fmax_nextpnr"].items()]
    else:  # ECP5 board (scripts/synth_ecp5.sh)
        board = r["target"]
        part = r["part"]
        lut = r["lut4"]
        used = (f"{lut['used']} / {lut['available']} LUT4 "
                f"({100 * lut['used'] / lut['available']:.0f} %)")
        clocks = [(n, c["achieved_mhz"], c["constraint_mhz"]) for n, c in r["fmax"].items()]
    fmax = ", ".join(f"{n}: {a:.1f} / {q:g} MHz" for n, a, q in clocks)
    rows.append(f"| `{board}` | {part} | {HOLDS.get(board, '?')} | {used} | {fmax} | "
                f"{'met' if r['timing_met'] else '**MISSED**'} |")
print("\n".join(rows))
