#!/usr/bin/env python3
"""The report of scripts/synth_ecp5.sh (make synth-ecp5): reads the build directory, prints the
summary and writes REPORTS/synth_ecp5.{json,md}.

    synth_ecp5_report.py OUT/board.env     (the script sets the ECP5_* environment below)

Inputs in OUT (ECP5_OUT): top.v (the generated Verilog, to name the block of every source line),
yosys_stat.txt (yosys `stat` after synth_ecp5), nextpnr_report.json (nextpnr --report
--detailed-timing-report: utilization, Fmax per clock, the critical paths with every cell, net
and delay). Environment: ECP5_FREQ (target MHz), ECP5_SEED, ECP5_REQUIRE, ECP5_ELAPSED
("step=seconds ..."), ECP5_REPORTS, ECP5_WARNINGS, ECP5_YOSYS, ECP5_NEXTPNR, ECP5_PKGS.

Exit status: 0 every clock met its target, 3 one missed it (the summary says "MISSED"), anything
else: an input was missing or unreadable.
"""
import json
import os
import pathlib
import re
import sys

e = os.environ
out = pathlib.Path(e["ECP5_OUT"])
reports = pathlib.Path(e["ECP5_REPORTS"])
env = dict(
    line.split("=", 1)
    for line in pathlib.Path(sys.argv[1]).read_text().splitlines()
    if "=" in line and not line.startswith("#")
)
freq = float(e["ECP5_FREQ"])
report_name = e.get("ECP5_REPORT_NAME", "synth_ecp5")
board_mode = report_name != "synth_ecp5"
if board_mode:
    design = ("the whole SoC (`SocConfig::FPGA`: UART bridge, memcpy, IOMMU with an 8-entry IOTLB, "
              "NIC), the RGMII adapter with its DDR cells and the PLL, "
              "rtl/src/board/colorlight_i5.rs, pins from its LPF")
else:
    design = ("the whole SoC (`SocConfig::FPGA`: UART bridge, memcpy, IOMMU with an 8-entry IOTLB, "
              "NIC) and the RMII adapter, out of context")
size = env["DEVICE"].rstrip("k").upper()
part = (f"LFE5U-{size}F-{env['SPEED']}BG381C" if env["PACKAGE"] == "CABGA381"
        else f"LFE5U-{size}F, speed {env['SPEED']}, {env['PACKAGE']}")
options = f"--{env['DEVICE']} --package {env['PACKAGE']} --speed {env['SPEED']}"

# --- the blocks: the rust-hdl block a cell belongs to ----------------------------------------------
# rust-hdl writes one Verilog module per block instance, named by its path (top$core$soc$iommu);
# a module with only the ports d, q, clock is one register (a DFF) of its parent block.
text = (out / "top.v").read_text()
modules = set(re.findall(r"^module (\S+)\(", text, re.M))
register_modules = set(re.findall(r"^module (\S+)\(d,q,clock\);", text, re.M))


def block_of_cell(cell):
    """The block of a flattened cell: its name's longest prefix that is a block's module.

    Yosys names a flattened cell by its hierarchy and a net next to it (a LUT is named after one
    of its input nets: core.soc.iommu.iotlb.valid$4.q_LUT4_C_Z is a LUT fed by that register),
    so this is the block of the logic's inputs: close, not exact."""
    parts = cell.split(".")
    best = None
    for i in range(1, len(parts)):
        if "top$" + "$".join(parts[:i]) in modules:
            best = parts[:i]
    if best is None:
        return None
    while "top$" + "$".join(best) in register_modules and len(best) > 1:
        best = best[:-1]
    if best[:1] == ["core"]:
        best = best[1:]
    return ".".join(best) or "top"


# The lines of each module in top.v, for the nets nextpnr can trace to a line ("sources").
module_lines = []  # (first line, last line, module)
current = None
for n, line in enumerate(text.splitlines(), 1):
    if line.startswith("module "):
        current, first = line[len("module "):].split("(")[0], n
    elif line.startswith("endmodule") and current:
        module_lines.append((first, n, current))
        current = None


def block_of_sources(sources):
    """The block of the first source line in top.v (yosys keeps it on the nets an expression
    drives: an adder's carry chain, a comparison), or None."""
    for src in sources or []:
        m = re.search(r"top\.v:(\d+)\.", src)
        if not m:
            continue
        n = int(m[1])
        for first, last, module in module_lines:
            if first <= n <= last:
                parts = module.split("$")[1:]
                while "top$" + "$".join(parts) in register_modules and len(parts) > 1:
                    parts = parts[:-1]
                if parts[:1] == ["core"]:
                    parts = parts[1:]
                return ".".join(parts) or "top"
    return None


def register_of(cell):
    """core.soc.nic.tx_dma.d_addr.q_TRELLIS_FF_Q_1 → nic.tx_dma.d_addr (the register's path)."""
    name = re.sub(r"(\.q)?_TRELLIS_FF_Q(_\d+)?$", "", cell)
    return name[len("core."):] if name.startswith("core.") else name


def shorten(cell, n=90):
    return cell if len(cell) <= n else cell[: n - 1] + "…"


# --- yosys: cells after synth_ecp5 ----------------------------------------------------------------
cells = {}
stat = (out / "yosys_stat.txt").read_text()
# The last module's table is the whole design (synth_ecp5 flattens it): "   1234   LUT4" or
# "LUT4   1234" depending on the version; the last count of each cell type wins.
for line in stat.splitlines():
    m = re.match(r"^\s*(\d+)\s+(?:\S+\s+)?([A-Z][A-Z0-9_]+)\s*$", line) or re.match(
        r"^\s*([A-Z][A-Z0-9_]+)\s+(\d+)\s*$", line)
    if m:
        a, b = m.groups()
        count, cell = (int(a), b) if a.isdigit() else (int(b), a)
        cells[cell] = count
ff_yosys = sum(n for c, n in cells.items() if c == "TRELLIS_FF" or re.match(r"^(FD|TRELLIS_FF)", c))
yosys_cells = {
    "LUT4": cells.get("LUT4", 0),
    "CCU2C": cells.get("CCU2C", 0),
    "PFUMX": cells.get("PFUMX", 0),
    "L6MUX21": cells.get("L6MUX21", 0),
    "TRELLIS_DPR16X4": cells.get("TRELLIS_DPR16X4", 0),
    "TRELLIS_FF": ff_yosys,
    "DP16KD": cells.get("DP16KD", 0),
    "MULT18X18D": cells.get("MULT18X18D", 0),
}

# --- nextpnr: utilization and timing --------------------------------------------------------------
r = json.loads((out / "nextpnr_report.json").read_text())
util = r["utilization"]


def resource(name, device_key):
    u = util.get(name, {"used": 0, "available": 0})
    if device_key and u["available"] != int(env[device_key]):
        print(f"synth-ecp5: warning: board.env says {device_key}={env[device_key]}, "
              f"nextpnr says {u['available']} {name}", file=sys.stderr)
    return {"used": u["used"], "available": u["available"]}


lut4 = resource("TRELLIS_COMB", "LUT4_DEVICE")
lut4["budget"] = int(env["LUT4_BUDGET"])
lut4["budget_met"] = lut4["used"] <= lut4["budget"]
ff = resource("TRELLIS_FF", "FF_DEVICE")
ebr = resource("DP16KD", "EBR_DEVICE")
ramw = resource("TRELLIS_RAMW", None)
io = resource("TRELLIS_IO", None)
mult = resource("MULT18X18D", None)


def short(clock):
    """$glbnet$rmii_ref_clk$TRELLIS_IO_IN (the clock's global net) → rmii_ref_clk (its pin)."""
    return re.sub(r"^\$glbnet\$|\$TRELLIS_IO_IN$", "", clock) or clock


clocks = {}
for clock, f in sorted(r["fmax"].items()):
    label = short(clock)
    if board_mode and label not in ("eth_rxc", "clk25"):
        # The PLL's output: nextpnr names its net after a register it clocks.
        label = "core clock (PLL CLKOP)"
    if label in clocks:
        # Two clocks under one name would hide one of them from the verdict.
        sys.exit(f"synth-ecp5: two clocks named {label}: {clocks[label]['net']} and {clock}")
    clocks[label] = {
        "net": clock, "achieved_mhz": round(f["achieved"], 2), "constraint_mhz": f["constraint"],
        "met": f["achieved"] >= f["constraint"],
    }
if not clocks:
    sys.exit("synth-ecp5: nextpnr's report has no clock")
if not board_mode and env["CLOCK_PORT"] not in clocks:
    print(f"synth-ecp5: warning: nextpnr timed the clocks {', '.join(clocks)}, not the top's "
          f"{env['CLOCK_PORT']}", file=sys.stderr)
timing_met = all(c["met"] for c in clocks.values())


def critical_path(clock_net):
    """The clock's own (posedge → posedge) critical path, as nextpnr lists it.

    A cell's block is that of the Verilog line of the net it drives where nextpnr knows it (the
    carry chains), else the one its name gives (`block_of_cell`).

    Logic levels: every LUT and wide-LUT mux step (PFUMX, L6MUX21) counts one, and every carry
    chain (an adder or comparator in CCU2C cells) counts one however long it ripples; the
    ripple steps (FCI → FCO) are counted apart as carry cells."""
    for p in r.get("critical_paths", []):
        if p["from"] == p["to"] == f"posedge {clock_net}":
            break
    else:
        return None
    cells, logic_ns, routing_ns, other_ns = [], 0.0, 0.0, 0.0
    lut_steps = carry_chains = carry_ripple = 0
    at = 0.0  # the path's time after each step
    for s in p["path"]:
        kind, delay = s["type"], s["delay"]
        at += delay
        if kind == "routing":
            routing_ns += delay
            # The net a cell drives, traced to its Verilog line, names the cell's block better
            # than the cell's own name does.
            block = block_of_sources(s.get("sources"))
            if block and cells and not cells[-1]["from_source"] and cells[-1]["step"] != "clk-to-q":
                cells[-1]["block"], cells[-1]["from_source"] = block, True
            continue
        if kind != "logic":  # clk-skew, clk-to-q, setup
            other_ns += delay
            if kind == "clk-skew":
                continue
        else:
            logic_ns += delay
        src, dst = s["from"]["port"], s["to"]["port"]
        if kind == "logic" and src == "FCI" and dst == "FCO":
            carry_ripple += 1
            if cells:
                cells[-1]["at_ns"] = round(at, 2)
            continue
        if kind == "logic" and dst == "FCO":
            carry_chains += 1
            what = "carry chain"
        elif kind == "logic" and src == "FCI":
            what = "carry out"
        elif kind == "logic":
            lut_steps += 1
            what = "LUT" if dst == "F" else "mux"
        else:
            what = kind
        cell = s["from"]["cell"]
        cells.append({"step": what, "ports": f"{src}->{dst}", "delay_ns": round(delay, 3),
                      "cell": shorten(cell), "block": block_of_cell(cell), "from_source": False,
                      "at_ns": round(at, 2)})
    # A chain's last cell (its carry out, or a cell nextpnr split the chain with) is the chain's.
    chain_block = None
    for c in cells:
        if c["step"] == "carry chain":
            chain_block = c["block"]
        elif c["step"] == "carry out" and chain_block:
            c["block"] = chain_block
    for c in cells:
        del c["from_source"]
    # The blocks in path order, each visit with the time spent in it (its cells and the
    # routing into them).
    blocks, visits, left = [], [], 0.0
    for c in cells:
        if not c["block"]:
            continue
        if not visits or visits[-1]["block"] != c["block"]:
            if visits:
                left = visits[-1]["until_ns"]
            visits.append({"block": c["block"], "ns": 0.0, "until_ns": 0.0})
            blocks.append(c["block"])
        visits[-1]["until_ns"] = c["at_ns"]
        visits[-1]["ns"] = round(c["at_ns"] - left, 2)
    start = next(s for s in p["path"] if s["type"] == "clk-to-q")["from"]["cell"]
    end = p["path"][-1]["to"]
    return {
        "start": {"cell": start, "register": register_of(start), "block": block_of_cell(start)},
        "end": {"cell": end["cell"], "port": end["port"], "register": register_of(end["cell"]),
                "block": block_of_cell(end["cell"])},
        "delay_ns": round(logic_ns + routing_ns + other_ns, 2), "logic_ns": round(logic_ns, 2),
        "routing_ns": round(routing_ns, 2), "clock_ns": round(other_ns, 2),
        "logic_levels": lut_steps + carry_chains, "lut_and_mux_steps": lut_steps,
        "carry_chains": carry_chains, "carry_ripple_cells": carry_ripple,
        "blocks": blocks, "visits": visits, "cells": cells,
    }


for c in clocks.values():
    c["critical_path"] = critical_path(c["net"])

elapsed = {k: float(v) for k, v in (kv.split("=") for kv in e["ECP5_ELAPSED"].split())}
yosys_version = e["ECP5_YOSYS"].split(" (")[0]
nextpnr_version = re.sub(r"^nextpnr-", "", e["ECP5_NEXTPNR"])
tools = {"yosys": re.sub(r", .*\)$", ")", e["ECP5_YOSYS"]), "nextpnr-ecp5": nextpnr_version,
         "pypi": e.get("ECP5_PKGS", "").split()}
data = {
    "target": env["BOARD"], "part": part, "nextpnr_options": options,
    "design": design, "bitstream": f"reports/{report_name}.bit" if board_mode else None,
    "target_mhz": freq, "seed": int(e["ECP5_SEED"]), "require": e["ECP5_REQUIRE"] == "1",
    "tools": tools, "yosys_warnings": int(e.get("ECP5_WARNINGS", "0")),
    "lut4": lut4, "ff": ff, "ebr": ebr, "distributed_ram_lut_pairs": ramw, "io": io,
    "mult18": mult, "yosys_cells": yosys_cells,
    "fmax": clocks, "timing_met": timing_met, "elapsed_s": elapsed,
}
reports.mkdir(parents=True, exist_ok=True)
with open(reports / f"{report_name}.json", "w") as fh:
    json.dump(data, fh, indent=2)
    fh.write("\n")


# --- printed summary and Markdown -------------------------------------------------------------------
def pct(u):
    return f"{100 * u['used'] / u['available']:.1f} %" if u["available"] else "-"


def verdict(name, c):
    if c["met"]:
        return f"met: Fmax {c['achieved_mhz']:.1f} MHz >= {c['constraint_mhz']:g} MHz ({name})"
    return f"MISSED: Fmax {c['achieved_mhz']:.1f} MHz < {c['constraint_mhz']:g} MHz ({name})"


budget = (f"≤ {lut4['budget']} (75 %): " +
          ("met" if lut4["budget_met"] else f"missed by {lut4['used'] - lut4['budget']}"))
rows = [
    ("LUT4 (logic, carry, distributed RAM)", lut4, budget),
    ("flip-flops", ff, ""),
    ("block RAM (EBR, DP16KD 18 Kbit)", ebr, ""),
    ("I/O pins", io, ""),
]
print(f"{env['BOARD']}: {part} ({options}), target {freq:g} MHz; {yosys_version}, "
      f"nextpnr-ecp5 {nextpnr_version} (seed {data['seed']})")
print(f"{'resource':<38}{'used':>7}{'available':>11}{'use':>9}  target")
for name, u, target in rows:
    print(f"{name:<38}{u['used']:>7}{u['available']:>11}{pct(u):>9}  {target}".rstrip())
print(f"(yosys: {yosys_cells['LUT4']} LUT4, {yosys_cells['CCU2C']} CCU2C = 2 LUT4 each, "
      f"{yosys_cells['TRELLIS_DPR16X4']} TRELLIS_DPR16X4, {yosys_cells['TRELLIS_FF']} FF, "
      f"{yosys_cells['DP16KD']} DP16KD)")
for name, c in clocks.items():
    print(verdict(name, c))
    p = c["critical_path"]
    if p:
        print(f"  critical path: {p['delay_ns']:.2f} ns = {p['logic_ns']:.2f} logic + "
              f"{p['routing_ns']:.2f} routing + {p['clock_ns']:.2f} clock-to-out and setup; "
              f"{p['logic_levels']} logic levels ({p['lut_and_mux_steps']} LUT/mux steps, "
              f"{p['carry_chains']} carry chains of {p['carry_ripple_cells']} ripple cells in all)")
        print(f"    from {p['start']['register']}  ({p['start']['cell']})")
        print(f"    to   {p['end']['register']}, input {p['end']['port']}  ({p['end']['cell']})")
        print("    through " + " → ".join(f"{v['block']} ({v['ns']:.1f})" for v in p["visits"]) + " ns")

md = [f"**{env['BOARD']}** ({part}, nextpnr `{options}`): {design}; "
      f"core clock {freq:g} MHz; {yosys_version}, nextpnr-ecp5 "
      f"{nextpnr_version} (YoWASP, seed {data['seed']})", "",
      "| resource | used | available | use | target |", "|---|---:|---:|---:|---|"]
md += [f"| {n} | {u['used']} | {u['available']} | {pct(u)} | {t} |" for n, u, t in rows]
for name, c in clocks.items():
    md.append(f"| Fmax ({name}) | {c['achieved_mhz']:.1f} MHz | {c['constraint_mhz']:g} MHz "
              f"required | | {'met' if c['met'] else '**MISSED**'} |")
md.append("")
md.append(f"Yosys cells: {yosys_cells['LUT4']} LUT4, {yosys_cells['CCU2C']} CCU2C (carry, 2 LUT4 "
          f"each), {yosys_cells['TRELLIS_DPR16X4']} TRELLIS_DPR16X4 (distributed RAM), "
          f"{yosys_cells['TRELLIS_FF']} flip-flops, {yosys_cells['DP16KD']} DP16KD.")
for name, c in clocks.items():
    md.append("")
    md.append(("**" + verdict(name, c) + "**") if not c["met"] else verdict(name, c))
    p = c["critical_path"]
    if p:
        md.append(f"Critical path ({name}): {p['delay_ns']:.2f} ns ({p['logic_ns']:.2f} ns logic, "
                  f"{p['routing_ns']:.2f} ns routing), {p['logic_levels']} logic levels "
                  f"({p['lut_and_mux_steps']} LUT/mux steps and {p['carry_chains']} carry chains), "
                  f"from register `{p['start']['register']}` to `{p['end']['register']}` "
                  f"(its {p['end']['port']} input), through the blocks (ns in each) "
                  + " → ".join(f"`{v['block']}` {v['ns']:.1f}" for v in p["visits"]) + ".")
md.append("")
md.append("Took " + ", ".join(f"{k} {v:.0f} s" for k, v in elapsed.items()) +
          f" on {os.cpu_count()} cores (YoWASP cache warm: scripts/setup.sh ecp5 compiles the "
          "tools on their first run, before this).")
with open(reports / f"{report_name}.md", "w") as fh:
    fh.write("\n".join(md) + "\n")
sys.exit(0 if timing_met else 3)
