#!/usr/bin/env python3
"""The formal proofs (`make formal`): yosys + yosys-smtbmc on the generated arbiter and IOMMU.

    python3 scripts/formal.py [--dir out/formal] [--only PROOF ...] [--no-mutants]
                              [--mutants MUTANT ...] [--iommu-depth N] [--summary FILE]

Expects the generated blocks in DIR (`cargo run -p rtl --bin gen-formal -- DIR`; `make formal`
does both) and the solver from `scripts/setup.sh formal` (a project-local virtual environment,
.venv/formal; FORMAL_VENV overrides it; FORMAL_SOLVER=z3 uses a z3 on PATH instead of Yices).

Runs each proof of PROOFS (wrappers in formal/*.sv), prints name, engine, depth, result and
seconds, then each mutant of MUTANTS: a copy of a generated block with one textual change that
breaks a property; the proof it targets must fail on it (a mutant that survives fails the flow).
A failed proof prints its counterexample cycle by cycle and leaves a VCD next to its logs.
Exit status 1 if a proof fails or a mutant survives, 2 on a usage or tool error.

Stdlib only.
"""
import argparse
import dataclasses
import os
import pathlib
import re
import shutil
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
FORMAL = ROOT / "formal"


@dataclasses.dataclass
class Proof:
    name: str  # the wrapper module in formal/<wrapper>
    source: str  # the generated block it wraps (in --dir)
    wrapper: str
    engine: str  # "bmc" or "k-induction" (BMC base case, then the induction step)
    depth: int  # BMC depth in cycles from power-up (smtbmc steps 0 .. depth-1)
    induction: int = 0  # k of the induction step
    budget: int = 120  # seconds per solver run; BMC stops there ...
    min_depth: int = 0  # ... and passes if it had checked this many cycles (0: the whole depth)
    # Signals printed for a counterexample (wrapper-level names).
    trace: tuple = ()
    what: str = ""


@dataclasses.dataclass
class Mutant:
    name: str
    proof: str  # the proof that must catch it
    old: str  # text of the generated block that must occur exactly once
    new: str
    what: str


ARBITER_TRACE = ("cycle_steal", "steal_bound", "burst_cap", "cpu_req", "dma_req", "dma_last",
                 "cpu_grant", "dma_grant")
IOMMU_TRACE = ("ddtp_write", "ddtp_mode", "ddtp_ppn", "state", "up_valid", "up_ready", "up_dev",
               "up_addr", "up_we", "up_resp", "up_fault", "dn_valid", "dn_ready", "dn_addr",
               "dn_we", "dev_beat", "dn_iova", "dn_dev", "dn_rdata", "tc", "fsc", "ref_ok",
               "ref_pa")

PROOFS = [
    Proof("arbiter_safety", "arbiter.v", "arbiter.sv", "k-induction", depth=20, induction=4,
          trace=ARBITER_TRACE,
          what="mutual exclusion, grant implies request, no idle cycle, cycle-steal CPU wait "
               "<= 1, transparent mode never stalls the CPU (all inputs free)"),
    Proof("arbiter_steal_bound", "arbiter.v", "arbiter.sv", "bmc", depth=24,
          trace=ARBITER_TRACE + ("dma_wait",),
          what="cycle-steal mode: DMA wait <= max(bound, 1) (mode and bound constant, bound any)"),
    Proof("arbiter_burst_cap", "arbiter.v", "arbiter.sv", "bmc", depth=24,
          trace=ARBITER_TRACE + ("cpu_wait",),
          what="burst mode: CPU wait <= cap (mode and cap constant, cap any non-zero)"),
    # As deep as fits in the budget (each cycle costs about 1.7 times the one before; on an idle
    # 2-core machine 16 cycles take about 90 s), at least 12.
    Proof("iommu_translation", "iommu.v", "iommu.sv", "bmc", depth=24, budget=150, min_depth=12,
          trace=IOMMU_TRACE,
          what="every device beat granted on dn: physical address and permission of the "
               "reference walk of its IOVA and device under the DDTP in force (DDTP writes, "
               "commands, register writes at any cycle; constant memory image); device-side "
               "responses only for accepted beats, ready low with a fault response"),
]

MUTANTS = [
    Mutant("arbiter_both_grants", "arbiter_safety",
           "cpu_grant = cpu_req & ~dma_wins;", "cpu_grant = cpu_req;",
           "the CPU is granted even when the DMA wins (mutual exclusion)"),
    Mutant("arbiter_grant_without_request", "arbiter_safety",
           "dma_grant = dma_wins;", "dma_grant = dma_wins | dma_last;",
           "dma_last alone grants the DMA side (grant implies request)"),
    Mutant("arbiter_idle_cycle", "arbiter_safety",
           "((burst_beats$q != 32'h0) | ~cpu_req | dma_turn$q)",
           "((burst_beats$q != 32'h0) | dma_turn$q)",
           "burst mode: a lone DMA request is not granted (no idle cycle)"),
    Mutant("arbiter_steal_twice", "arbiter_safety",
           "& (steal_bound != steal_never) & ~stole$q)", "& (steal_bound != steal_never))",
           "cycle steal: the DMA may steal two cycles in a row (CPU wait <= 1)"),
    Mutant("arbiter_transparent_steals", "arbiter_safety",
           "& (steal_bound != steal_never) & ~stole$q)", "& ~stole$q)",
           "cycle steal: STEAL_NEVER is a bound like any other, so a DMA that has waited "
           "2^32 - 1 cycles steals (transparent mode; only the induction step reaches it)"),
    Mutant("arbiter_steal_late", "arbiter_steal_bound",
           "(dma_waited$q >= steal_bound)", "(dma_waited$q > steal_bound)",
           "cycle steal: the DMA steals one cycle after its bound (DMA wait bound)"),
    Mutant("arbiter_burst_over_cap", "arbiter_burst_cap",
           "((burst_beats$q + 32'h1) >= burst_cap)", "((burst_beats$q + 32'h1) > burst_cap)",
           "burst mode: a burst runs one beat past the cap (CPU wait <= cap)"),
    Mutant("iommu_read_without_accessed", "iommu_translation",
           "pte_perm_ok = dn$rdata[32'h1] & dn$rdata[32'h6];",
           "pte_perm_ok = dn$rdata[32'h1];",
           "the walk allows a read through a leaf PTE whose A bit is clear (permission)"),
    Mutant("iommu_leaf_vpn1", "iommu_translation",
           "(((table_ppn$q) & 32'hffffffff) << 32'hc) + (((req_iova$q[(32'hc)+:(10)])",
           "(((table_ppn$q) & 32'hffffffff) << 32'hc) + (((req_iova$q[(32'h16)+:(10)])",
           "the level-0 PTE is indexed by VPN[1] instead of VPN[0] (address)"),
    Mutant("iommu_page_offset_bit11", "iommu_translation",
           "<< 32'hc) | ((lk_addr[(32'h0)+:(12)]) & 32'hffffffff);",
           "<< 32'hc) | ((lk_addr[(32'h0)+:(11)]) & 32'hffffffff);",
           "an IOTLB hit drops bit 11 of the page offset (physical address)"),
    Mutant("iommu_bare_past_ram", "iommu_translation",
           "if (lk_addr < ram_bytes) begin", "if (lk_addr <= ram_bytes) begin",
           "Bare mode lets through the first address past RAM (range check)"),
    Mutant("iommu_ddtp_race", "iommu_translation",
           "if (ddtp_write & (walking | walk_start)) begin", "if (1'b0) begin",
           "a DDTP write no longer marks the fetch or walk in flight stale (the race as it was)"),
    Mutant("iommu_ddtp_race_at_start", "iommu_translation",
           "if (ddtp_write & (walking | walk_start)) begin", "if (ddtp_write & walking) begin",
           "a DDTP write in the cycle Idle starts a fetch or walk does not make it stale"),
    Mutant("iommu_ddtp_keeps_contexts", "iommu_translation",
           "        if (ddtp_write) begin\n            dc_valid$0$d = 1'b0;",
           "        if (1'b0) begin\n            dc_valid$0$d = 1'b0;",
           "a DDTP write flushes neither the device-context cache nor the IOTLB"),
    Mutant("iommu_ddtp_no_replay", "iommu_translation",
           "        if (ddtp_write) begin\n            flush_s2 = 1'b1;",
           "        if (1'b0) begin\n            flush_s2 = 1'b1;",
           "a DDTP write does not make S2 look its beat up again: a beat looked up under the "
           "old DDTP goes out after the write"),
    Mutant("iommu_ready_with_fault", "iommu_translation",
           "up$ready = (b_count$q != 32'h2) & ~flt_resp$q;",
           "up$ready = b_count$q != 32'h2;",
           "up.ready stays high in the cycle of a fault response"),
]


class ToolError(Exception):
    pass


def solver_env(solver):
    """PATH with the project's solver venv first; checks the tools are there."""
    venv = pathlib.Path(os.environ.get("FORMAL_VENV", ROOT / ".venv" / "formal"))
    env = dict(os.environ)
    env["PATH"] = str(venv / "bin") + os.pathsep + env.get("PATH", "")
    binary = {"yices": "yices-smt2", "z3": "z3"}[solver]
    for tool in ("yosys", "yosys-smtbmc", binary):
        if shutil.which(tool, path=env["PATH"]) is None:
            raise ToolError(f"{tool} not found (run `bash scripts/setup.sh formal`)")
    out = subprocess.run([binary, "--version"], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise ToolError(f"{binary} --version failed: {out.stderr.strip()}")
    version = out.stdout.strip().splitlines()[0] if out.stdout.strip() else binary
    return env, version


def ram_params(iommu_v):
    """RAM_BYTES and AW of the generated IOMMU (its `ram_bytes` localparam)."""
    m = re.search(r"localparam\s+ram_bytes = 32'h([0-9a-fA-F]+);", iommu_v.read_text())
    if not m:
        raise ToolError(f"{iommu_v}: no ram_bytes localparam")
    ram = int(m.group(1), 16)
    aw = (ram // 4).bit_length() - 1
    if ram <= 0 or 4 << aw != ram:
        raise ToolError(f"{iommu_v}: RAM of {ram} bytes is not a power of two")
    return ram, aw


def build_smt2(proof, source, work, env, tag=None):
    """yosys: generated block + wrapper → flattened model → smt2. Returns (path, state bits)."""
    tag = tag or proof.name
    smt2 = work / f"{tag}.smt2"
    chparam = ""
    if proof.source == "iommu.v":
        ram, aw = ram_params(source)
        chparam = f"chparam -set RAM_BYTES {ram} -set AW {aw} {proof.name}; "
    script = (
        f"read_verilog -formal {source}; "
        f"read_verilog -formal -sv {FORMAL / proof.wrapper}; "
        f"{chparam}prep -top {proof.name}; flatten; opt_clean; "
        f"async2sync; opt -fast; dffunmap; write_smt2 -wires {smt2}"
    )
    log = work / f"{tag}.yosys.log"
    with open(log, "w") as f:
        r = subprocess.run(["yosys", "-p", script], stdout=f, stderr=subprocess.STDOUT, env=env)
    if r.returncode != 0:
        raise ToolError(f"yosys failed on {proof.name} (exit {r.returncode}), see {log}")
    text = smt2.read_text()
    bits = sum(int(m.group(1)) for m in re.finditer(r"^; yosys-smt2-register \S+ (\d+)", text,
                                                    re.M))
    if proof.source == "iommu.v":
        # The memory image must stay an unconstrained constant: no write port.
        mems = re.findall(r"^; yosys-smt2-memory (\S+) (\d+) (\d+) (\d+) (\d+)", text, re.M)
        if not mems or any(m[0] == "mem" and m[4] != "0" for m in mems):
            raise ToolError(f"{proof.name}: the memory image is missing or has write ports")
    return smt2, bits


def run_smtbmc(args, smt2, env, timeout, log):
    """Runs yosys-smtbmc for at most `timeout` seconds (then it and its solver are killed).
    Returns (status, last step started, failed assertion, seconds)."""
    start = time.monotonic()
    with open(log, "w") as f:
        proc = subprocess.Popen(["yosys-smtbmc", *args, str(smt2)], stdout=f,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = None
    seconds = time.monotonic() - start
    text = log.read_text(errors="replace")
    steps = [int(s) for s in re.findall(r"(?:Checking assertions in|induction in) step (\d+)",
                                        text)]
    last = steps[-1] if steps else -1
    failed = re.search(r"Assert failed in \S+ (\S+)", text)
    if code is None:
        status = "TIMEOUT"
    elif "Status: PASSED" in text and code == 0:
        status = "PASSED"
    elif "Status: FAILED" in text and code != 0:
        status = "FAILED"
    else:
        status = "ERROR"
    return status, last, failed.group(1) if failed else None, seconds


def solver_args(solver):
    # Debian's z3 4.8 hangs on satisfiable incremental queries; --unroll avoids it (and is as
    # fast for yices here).
    return ["-s", solver, "--unroll"]


def check(proof, smt2, work, env, solver, vcd=None, tag=None):
    """BMC (and for k-induction the induction step). Returns a result dict.

    BMC runs to `proof.depth` cycles or until `proof.budget` seconds are spent; a run stopped
    by the budget passes if it had checked at least `proof.min_depth` cycles (the depth
    reached is reported)."""
    tag = tag or proof.name
    base = solver_args(solver) + ["-t", str(proof.depth)]
    if vcd:
        base += ["--dump-vcd", str(vcd)]
    status, last, failed, secs = run_smtbmc(base, smt2, env, proof.budget,
                                            work / f"{tag}.bmc.log")
    # Depth reached: cycles checked from power-up. smtbmc announces step N before checking
    # it, so a run stopped there had checked N cycles; a failure is in cycle N itself.
    depth = {"PASSED": proof.depth, "FAILED": last + 1}.get(status, max(last, 0))
    stopped = status == "TIMEOUT" and proof.min_depth > 0 and depth >= proof.min_depth
    if stopped:
        status = "PASSED"
    res = {"status": status, "failed": failed, "seconds": secs, "step": last, "depth": depth,
           "stopped": stopped}
    if status == "PASSED" and proof.engine == "k-induction":
        status, _, failed, secs2 = run_smtbmc(
            solver_args(solver) + ["-i", "-t", str(proof.induction)], smt2, env, proof.budget,
            work / f"{tag}.induction.log")
        res.update(status=status, failed=failed, seconds=secs + secs2)
        if status == "FAILED":
            res["status"] = "INDUCTION FAILED"  # not a counterexample from power-up
    return res


# ---- counterexample printing ----

def read_vcd(path):
    """{signal name: [value per smtbmc step]} for the top scope's signals (ints or None)."""
    codes, scope, vals, per_step = {}, [], {}, {}
    step_code = None
    with open(path) as f:
        for line in f:
            p = line.split()
            if not p:
                continue
            if p[0] == "$scope":
                scope.append(p[2])
            elif p[0] == "$upscope":
                scope.pop()
            elif p[0] == "$var":
                if p[4] == "smt_step":
                    step_code = p[3]
                elif len(scope) == 1:
                    codes.setdefault(p[3], []).append(p[4])
            elif p[0][0] == "#":
                if step_code in vals:
                    per_step[int(vals[step_code], 2)] = dict(vals)
            elif p[0][0] == "b" and len(p) == 2:
                vals[p[1]] = p[0][1:]
            elif p[0][0] in "01xz" and len(p) == 1:
                vals[p[0][1:]] = p[0][0]
    if step_code in vals:
        per_step[int(vals[step_code], 2)] = dict(vals)
    table = {}
    for code, names in codes.items():
        for name in names:
            row = []
            for s in sorted(per_step):
                v = per_step[s].get(code)
                row.append(int(v, 2) if v and all(c in "01" for c in v) else None)
            table[name] = row
    return table


def state_names(source):
    """IOMMU walker states by encoding, from the generated module's localparams."""
    names = {}
    for m in re.finditer(r"localparam IommuState\$(\w+) = (\d+);", source.read_text()):
        names[int(m.group(2))] = m.group(1)
    return names


def print_trace(proof, vcd, source, cycles):
    try:
        table = read_vcd(vcd)
    except OSError as e:
        print(f"    (no trace: {e})")
        return
    names = state_names(source) if proof.source == "iommu.v" else {}
    signals = [s for s in proof.trace if s in table]
    if not signals:
        print("    (the trace has none of the signals to print)")
        return
    steps = min(cycles, len(table[signals[0]]))

    def fmt(sig, v):
        if v is None:
            return "x"
        if sig == "state":
            return names.get(v, str(v))
        return f"{v:x}" if v > 9 else str(v)

    print(f"    counterexample, one row per cycle from power-up (hex; VCD: {vcd}):")
    print("    " + "cycle".rjust(5) + "".join(s.rjust(max(len(s), 9) + 1) for s in signals))
    for i in range(steps):
        print("    " + str(i).rjust(5) + "".join(
            fmt(s, table[s][i]).rjust(max(len(s), 9) + 1) for s in signals))


def assertion_line(where):
    """(file:line, source line) of a failed assertion reported as `file:l1.c1-l2.c2`: yosys's
    span starts after the previous statement, so the assertion is on its last line."""
    m = re.match(r"(.+):\d+\.\d+-(\d+)\.\d+$", where or "")
    if not m:
        return where or "?", ""
    path, line = pathlib.Path(m.group(1)), int(m.group(2))
    try:
        text = path.read_text().splitlines()[line - 1].strip()
    except (OSError, IndexError):
        text = ""
    return f"{path.name}:{line}", text


def assertion_label(where):
    """(file:line, comment) of a failed assertion (the comment after it in the wrapper)."""
    place, text = assertion_line(where)
    return place, text.split("//", 1)[1].strip() if "//" in text else ""


def mutant_phase(proofs, args, gen, work, env, solver):
    """Every mutant against its proof. Returns (printed lines, summary rows, failures); the
    caller prints the lines (the phase may run beside the proofs, in a thread)."""
    out, mrows, failures = [], [], 0
    mdir = work / "mutants"
    mdir.mkdir(exist_ok=True)
    for m in MUTANTS:
        p = next((p for p in proofs if p.name == m.proof), None)
        if p is None or (args.mutants and m.name not in args.mutants):
            continue
        text = (gen / p.source).read_text()
        n = text.count(m.old)
        if n != 1:
            out.append(f"{m.name:<32}{p.name:<22}{'ERROR: pattern found ' + str(n) + ' times':<58}")
            failures += 1
            mrows.append((m, f"pattern found {n} times"))
            continue
        msrc = mdir / f"{m.name}.v"
        msrc.write_text(text.replace(m.old, m.new))
        try:
            smt2, _ = build_smt2(p, msrc, mdir, env, tag=m.name)
        except ToolError as e:
            out.append(f"formal: mutant {m.name}: {e}")
            failures += 1
            mrows.append((m, "ERROR"))
            continue
        # The proof's own engine: BMC, and for a k-induction proof also the induction step
        # (a mutant that breaks an unbounded property only after 2^32 cycles fails there).
        res = check(p, smt2, mdir, env, solver, tag=m.name)
        place, label = assertion_label(res["failed"]) if res["failed"] else ("", "")
        if res["status"] == "FAILED":
            shown = f"caught at cycle {res['step']}"
        elif res["status"] == "INDUCTION FAILED":
            shown = "caught by induction"
        else:
            shown = {"PASSED": f"SURVIVED (depth {p.depth})"}.get(res["status"],
                                                                 res["status"])
            failures += 1
        where = f" ({place} {label})" if place else ""
        out.append(f"{m.name:<32}{p.name:<22}{shown + where:<58}{res['seconds']:>7.1f}")
        # The README's table names the property, not the wrapper's line number.
        mrows.append((m, shown + (f" ({label})" if label else ""), res["seconds"]))
    return out, mrows, failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=str(ROOT / "out" / "formal"))
    ap.add_argument("--only", nargs="*", help="run only these proofs and their mutants")
    ap.add_argument("--no-mutants", action="store_true")
    ap.add_argument("--mutants", nargs="*", help="run only these mutants")
    ap.add_argument("--iommu-depth", type=int,
                    help="BMC depth of iommu_translation, exactly (no time budget)")
    ap.add_argument("--summary", help="write a Markdown table of the results here")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="2: run the mutants beside the proofs (default with 2 or more cores)")
    args = ap.parse_args()
    solver = os.environ.get("FORMAL_SOLVER", "yices")
    if solver not in ("yices", "z3"):
        print(f"formal: FORMAL_SOLVER must be yices or z3, not {solver}", file=sys.stderr)
        return 2
    gen = pathlib.Path(args.dir)
    proofs = [p for p in PROOFS if not args.only or p.name in args.only]
    if args.only and len(proofs) != len(args.only):
        print(f"formal: unknown proof in {args.only}", file=sys.stderr)
        return 2
    for p in proofs:
        if p.name == "iommu_translation" and args.iommu_depth:
            p.depth = p.min_depth = args.iommu_depth
            p.budget = 4 * 3600
    try:
        env, version = solver_env(solver)
        for p in proofs:
            if not (gen / p.source).is_file():
                raise ToolError(f"{gen / p.source} missing: run "
                                f"`cargo run -p rtl --bin gen-formal -- {gen}` first")
    except ToolError as e:
        print(f"formal: {e}", file=sys.stderr)
        return 2
    work = gen / "work"
    work.mkdir(parents=True, exist_ok=True)
    print(f"formal: yosys + yosys-smtbmc, solver {version}; logs in {work}")
    t_all = time.monotonic()
    failures = 0
    rows, mrows = [], []

    # The mutants run beside the proofs when there is a second core (the IOMMU proof alone
    # spends its whole time budget on one): their lines are printed after the proofs.
    mutants, pool = None, None
    if not args.no_mutants:
        pool = ThreadPoolExecutor(max_workers=1)
        if args.jobs > 1:
            mutants = pool.submit(mutant_phase, proofs, args, gen, work, env, solver)
    print(f"{'proof':<22}{'engine':<13}{'depth':>7}{'state bits':>12}  {'result':<18}{'s':>7}")
    built = {}
    for p in proofs:
        try:
            smt2, bits = build_smt2(p, gen / p.source, work, env)
        except ToolError as e:
            print(f"formal: {e}", file=sys.stderr)
            return 2
        built[p.name] = bits
        vcd = work / f"{p.name}.vcd"
        vcd.unlink(missing_ok=True)
        res = check(p, smt2, work, env, solver, vcd=vcd)
        if p.engine == "k-induction" and res["status"] == "PASSED":
            depth = f"k={p.induction}"
            engine = f"BMC {p.depth} + k-ind."
        else:
            depth = str(res["depth"])
            engine = "BMC"
        shown = {"PASSED": "PASS"}.get(res["status"], res["status"])
        if res["stopped"]:
            shown = f"PASS ({p.budget} s budget)"
        if res["status"] == "FAILED":
            shown = f"FAIL at cycle {res['step']}"
        elif res["status"] == "TIMEOUT":
            shown = f"TIMEOUT in cycle {res['step']}"
        print(f"{p.name:<22}{engine:<13}{depth:>7}{bits:>12}  {shown:<18}{res['seconds']:>7.1f}",
              flush=True)
        rows.append((p, engine, depth, bits, shown, res["seconds"]))
        if res["status"] != "PASSED":
            failures += 1
            if res["failed"]:
                place, text = assertion_line(res["failed"])
                print(f"    assertion {place}: {text}")
            if res["status"] == "FAILED":
                print_trace(p, vcd, gen / p.source, res["step"] + 1)
            elif res["status"] != "INDUCTION FAILED":
                print(f"    see {work / (p.name + '.bmc.log')}")

    if pool is not None and mutants is None:
        mutants = pool.submit(mutant_phase, proofs, args, gen, work, env, solver)
    if mutants is not None:
        lines, mrows, mfailures = mutants.result()
        pool.shutdown()
        failures += mfailures
        print(f"\n{'mutant':<32}{'proof':<22}{'result':<58}{'s':>7}")
        for line in lines:
            print(line)

    total = time.monotonic() - t_all
    print(f"\nformal: {len(proofs)} proofs, {len(mrows)} mutants, {total:.0f} s; "
          + (f"{failures} failure(s)" if failures
             else "all proofs hold" + (" and every mutant is caught" if mrows else "")))
    if args.summary:
        write_summary(pathlib.Path(args.summary), rows, mrows, version, total)
    return 1 if failures else 0


def write_summary(path, rows, mrows, version, total):
    lines = [
        f"Generated by `make formal-readme` (yosys 0.23 + yosys-smtbmc, {version}, on the "
        f"project's 2-core machine; {total:.0f} s in all).",
        "",
        "| proof | what it checks | engine | depth | state bits | result | seconds |",
        "|---|---|---|---:|---:|---|---:|",
    ]
    for p, engine, depth, bits, shown, secs in rows:
        lines.append(f"| `{p.name}` | {p.what} | {engine} | {depth} | {bits} | {shown} | "
                     f"{secs:.1f} |")
    lines += ["", "| mutant | proof | the change | result | seconds |", "|---|---|---|---|---:|"]
    for r in mrows:
        m = r[0]
        secs = f"{r[2]:.1f}" if len(r) > 2 else ""
        lines.append(f"| `{m.name}` | `{m.proof}` | {m.what} | {r[1]} | {secs} |")
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
