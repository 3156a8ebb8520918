// Formal properties of the bus arbiter (rtl/src/arbiter.rs), checked by yosys-smtbmc on the
// generated module `arbiter` (out/formal/arbiter.v, `cargo run -p rtl --bin gen-formal`).
// scripts/formal.py runs each wrapper below as one proof; see README "Formal properties".
//
// The generated module has no reset: every flip-flop starts from its `initial` value (0),
// which is what the SoC does at power-up. The wrappers read only the grants, so yosys
// removes the performance counters (`flatten; opt_clean`).
//
// A "stall" is a cycle in which a side requests and is not granted; a "wait" is a run of
// consecutive stalls of one side. The requesters hold a request until it is granted (the host
// port and the IOMMU's bus port do), so a wait is how long one request waits; the properties
// below need no assumption on the requests at all: they hold for any request sequence.

`default_nettype none

localparam [31:0] STEAL_NEVER = 32'hFFFF_FFFF; // regs::arb::STEAL_NEVER

// ---------------------------------------------------------------------------------------------
// arbiter_safety: every input free in every cycle (requests, dma_last, the mode, the steal
// bound and the burst cap may all change at any cycle: the CSRs are written by software at
// any time). Proved unbounded by k-induction.
//   * mutual exclusion: never both grants;
//   * a grant implies the request of its side;
//   * no idle cycle while someone requests;
//   * cycle-steal mode: a CPU stall is never preceded by another CPU stall (the CPU waits at
//     most 1 cycle), even right after a switch from burst mode or a change of the bound;
//   * transparent mode (cycle steal, steal bound = STEAL_NEVER): the CPU never stalls.
// ---------------------------------------------------------------------------------------------
module arbiter_safety (
    input wire clock,
    input wire cpu_req,
    input wire dma_req,
    input wire dma_last,
    input wire cycle_steal,
    input wire [31:0] burst_cap,
    input wire [31:0] steal_bound,
    input wire clear_counters
);
    wire cpu_grant, dma_grant;
    arbiter uut (
        .clock(clock), .cpu_req(cpu_req), .dma_req(dma_req), .dma_last(dma_last),
        .cycle_steal(cycle_steal), .burst_cap(burst_cap), .steal_bound(steal_bound),
        .clear_counters(clear_counters), .cpu_grant(cpu_grant), .dma_grant(dma_grant)
    );

    wire cpu_stall = cpu_req && !cpu_grant;
    reg prev_cpu_stall;
    initial prev_cpu_stall = 1'b0;
    always @(posedge clock) prev_cpu_stall <= cpu_stall;

    always @* begin
        assert (!(cpu_grant && dma_grant));                     // mutual exclusion
        assert (!cpu_grant || cpu_req);                         // grant implies request
        assert (!dma_grant || dma_req);                         // grant implies request
        assert (!(cpu_req || dma_req) || cpu_grant || dma_grant); // no idle cycle
        if (cycle_steal)
            assert (!(cpu_stall && prev_cpu_stall));            // CPU wait <= 1
        if (cycle_steal && steal_bound == STEAL_NEVER)
            assert (!cpu_stall);                                // transparent mode
    end
endmodule

// ---------------------------------------------------------------------------------------------
// arbiter_steal_bound: cycle-steal mode held from power-up, a steal bound held constant (any
// value but STEAL_NEVER, chosen by the solver), everything else free. The DMA waits at most
// max(bound, 1) cycles. BMC: with a bound below the depth the solver can build the longest
// waits, so this covers every bound up to the depth; larger bounds cannot be exceeded within
// it. The mode and bound are constant because the bound is about the configuration in force:
// the hardware counts a wait across a change of mode or bound, by design.
// ---------------------------------------------------------------------------------------------
module arbiter_steal_bound (
    input wire clock,
    input wire cpu_req,
    input wire dma_req,
    input wire dma_last,
    input wire [31:0] burst_cap,
    input wire clear_counters
);
    (* anyconst *) reg [31:0] steal_bound;
    always @* assume (steal_bound != STEAL_NEVER);

    wire cpu_grant, dma_grant;
    arbiter uut (
        .clock(clock), .cpu_req(cpu_req), .dma_req(dma_req), .dma_last(dma_last),
        .cycle_steal(1'b1), .burst_cap(burst_cap), .steal_bound(steal_bound),
        .clear_counters(clear_counters), .cpu_grant(cpu_grant), .dma_grant(dma_grant)
    );

    // Length of the DMA's current wait, counting this cycle (saturates at 255, never wraps).
    reg [7:0] dma_wait_before;
    wire [7:0] dma_wait = !(dma_req && !dma_grant) ? 8'd0
                       : (dma_wait_before == 8'hFF) ? 8'hFF : dma_wait_before + 8'd1;
    initial dma_wait_before = 8'd0;
    always @(posedge clock) dma_wait_before <= dma_wait;

    wire [31:0] limit = (steal_bound == 32'd0) ? 32'd1 : steal_bound;
    always @* assert ({24'd0, dma_wait} <= limit);             // DMA wait <= max(bound, 1)
endmodule

// ---------------------------------------------------------------------------------------------
// arbiter_burst_cap: burst mode held from power-up, a burst cap held constant (any non-zero
// value, chosen by the solver; 0 = no cap has no bound), everything else free (dma_last may end
// a burst early). The CPU waits at most `cap` cycles. BMC, as above for the bound.
// ---------------------------------------------------------------------------------------------
module arbiter_burst_cap (
    input wire clock,
    input wire cpu_req,
    input wire dma_req,
    input wire dma_last,
    input wire [31:0] steal_bound,
    input wire clear_counters
);
    (* anyconst *) reg [31:0] burst_cap;
    always @* assume (burst_cap != 32'd0);

    wire cpu_grant, dma_grant;
    arbiter uut (
        .clock(clock), .cpu_req(cpu_req), .dma_req(dma_req), .dma_last(dma_last),
        .cycle_steal(1'b0), .burst_cap(burst_cap), .steal_bound(steal_bound),
        .clear_counters(clear_counters), .cpu_grant(cpu_grant), .dma_grant(dma_grant)
    );

    reg [7:0] cpu_wait_before;
    wire [7:0] cpu_wait = !(cpu_req && !cpu_grant) ? 8'd0
                       : (cpu_wait_before == 8'hFF) ? 8'hFF : cpu_wait_before + 8'd1;
    initial cpu_wait_before = 8'd0;
    always @(posedge clock) cpu_wait_before <= cpu_wait;

    always @* assert ({24'd0, cpu_wait} <= burst_cap);         // CPU wait <= cap
endmodule
