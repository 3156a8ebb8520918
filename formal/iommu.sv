// Formal property of the IOMMU (rtl/src/iommu/mod.rs), checked by yosys-smtbmc on the
// generated module `iommu` (out/formal/iommu.v, `cargo run -p rtl --bin gen-formal`: 8 KiB of
// RAM, a 2-entry IOTLB, 1-bit counters). scripts/formal.py runs it; README "Formal properties".
//
// iommu_translation: every device beat the IOMMU lets through to the bus (`dev_beat`: S2's
// beat granted on dn) goes to the physical address that a reference walk gives for that
// beat's IOVA and device (`dn_iova`, `dn_dev`, and dn's we) under the DDTP in force in that
// cycle, and the walk allows the access (R for a read, W and D for a write, ...). The
// reference walk is written below from the specification (regs::iommu, regs::sv32, the doc of
// rtl/src/iommu/mod.rs), not from the IOMMU's code: it reads the tables straight from memory
// every cycle, with no cache. With the pipeline (input buffer, lookup registered into S2,
// replay after walks, invalidations and DDTP writes) this is what says that nothing looked up
// before a DDTP write is let out after it. Also checked, of the device-side port: a response
// only for an accepted beat (at most 3 outstanding: 2 buffered, 1 in S2), `ready` low in the
// cycle of a fault response, a dev beat is never also the IOMMU's own.
//
// The environment, as the SoC (rtl/src/soc.rs) builds it:
//   * memory: an arbitrary image chosen by the solver, constant over time (`mem` is never
//     written: yosys's smt2 backend makes it an unconstrained array). Writes (fault records,
//     IOFENCE.C data, device writes) do not change it: the property is about translation under
//     tables that software does not rewrite, while DDTP may change at any cycle;
//   * dn.rdata: the RAM answers one cycle after the beat (registered read, rtl/src/ram.rs), so
//     after a granted read it is the image's word at that read's address (the RAM's index is
//     address bits AW+1:2, as in the SoC). After any other cycle it is free (the SoC's RAM then
//     shows what the CPU addressed; the IOMMU must not use it). dn.resp is high exactly one
//     cycle after each grant, dn.fault is 0 (the arbiter's DMA side);
//   * dn.ready: free (any arbitration), assumed only to follow a request: the arbiter never
//     grants a side that does not request (proved in formal/arbiter.sv, arbiter_safety);
//   * register port (sel, offset, we, wdata): free every cycle, so software may write DDTP,
//     CQB, CQT, CQCSR, FQB, ... at any cycle, in any walker state. Commands come from the
//     image like every other read;
//   * device side (up.valid, addr, we, wdata, last, dev): free every cycle (the port's
//     contract asks an initiator for more; the property holds without it, which makes it
//     stronger).
//
// The wrapper reads neither the counters nor the register read-back, so yosys removes them.

`default_nettype none

module iommu_translation #(
    // formal.py sets both from the generated IOMMU's `ram_bytes`.
    parameter integer RAM_BYTES = 8192, // host RAM at address 0
    parameter integer AW = 11           // log2(RAM_BYTES / 4): the RAM's word index width
) (
    input wire clock,
    // device side (the IOMMU is the target)
    input wire up_valid,
    input wire [31:0] up_addr,
    input wire up_we,
    input wire [31:0] up_wdata,
    input wire up_last,
    input wire [1:0] up_dev,
    // bus side (the IOMMU is the initiator)
    input wire dn_ready,
    input wire [31:0] dn_rdata_other, // what the RAM shows after a cycle without a granted read
    // register port
    input wire sel,
    input wire [11:0] offset,
    input wire we,
    input wire [31:0] wdata
);
    localparam [33:0] RAM = RAM_BYTES;
    localparam [11:0] DDTP = 12'h010;        // regs::iommu::DDTP
    localparam [3:0] MODE_OFF = 4'd0, MODE_BARE = 4'd1, MODE_1LVL = 4'd2; // regs::iommu::ddtp

    // ---- memory: a constant image ----
    reg [31:0] mem [0:(1 << AW) - 1];

    // ---- the IOMMU ----
    wire up_ready, up_resp, up_fault, dn_valid, dn_we, dn_last, own_beat, dev_beat;
    wire [31:0] dn_addr, dn_wdata, dn_rdata, dn_iova;
    wire [1:0] dn_dev;
    wire [3:0] state;
    reg granted;
    iommu uut (
        .clock(clock),
        .up$valid(up_valid), .up$addr(up_addr), .up$we(up_we), .up$wdata(up_wdata),
        .up$last(up_last), .up$dev(up_dev), .up$ready(up_ready), .up$resp(up_resp),
        .up$fault(up_fault), .up$rdata(),
        .dn$valid(dn_valid), .dn$addr(dn_addr), .dn$we(dn_we), .dn$wdata(dn_wdata),
        .dn$last(dn_last), .dn$dev(), .dn$ready(dn_ready), .dn$resp(granted),
        .dn$fault(1'b0), .dn$rdata(dn_rdata), .dn_iova(dn_iova), .dn_dev(dn_dev),
        .host$sel(sel), .host$offset(offset), .host$we(we), .host$wdata(wdata), .host$rdata(),
        .irq(), .mode_bare(), .state(state), .own_beat(own_beat), .dev_beat(dev_beat),
        .iotlb_occupancy()
    );

    // ---- the bus: grants follow requests; read data one cycle after the granted read ----
    always @* assume (!dn_ready || dn_valid);
    reg read_granted;
    reg [31:0] read_addr;
    initial begin
        read_granted = 1'b0;
        granted = 1'b0;
    end
    always @(posedge clock) begin
        granted <= dn_valid && dn_ready;
        read_granted <= dn_valid && dn_ready && !dn_we;
        read_addr <= dn_addr;
    end
    assign dn_rdata = read_granted ? mem[read_addr[AW + 1:2]] : dn_rdata_other;

    // ---- the device side: beats accepted and not yet answered ----
    reg [2:0] outstanding;
    initial outstanding = 3'd0;
    always @(posedge clock)
        outstanding <= outstanding + {2'b00, up_valid && up_ready} - {2'b00, up_resp};
    // ---- DDTP in force: written by software, as regs::iommu::DDTP says (modes above 1LVL
    // are not supported and such a write is ignored); power-up value Bare ----
    reg [3:0] ddtp_mode;
    reg [21:0] ddtp_ppn;
    initial begin
        ddtp_mode = MODE_BARE;
        ddtp_ppn = 22'd0;
    end
    wire ddtp_write = sel && we && offset == DDTP && wdata[3:0] <= MODE_1LVL;
    always @(posedge clock)
        if (ddtp_write) begin
            ddtp_mode <= wdata[3:0];
            ddtp_ppn <= wdata[31:10];
        end

    // ---- the reference walk of the device beat on dn this cycle ----
    // The words it reads are free values tied to the image by assumptions, one per read:
    // a table read whose address comes from an earlier read of the same memory would be a
    // combinational loop through the memory cell for yosys's smt2 backend.
    (* anyseq *) reg [31:0] tc, fsc, pte1, pte0;
    function automatic [AW - 1:0] index(input [33:0] addr); // the RAM's word index
        index = addr[AW + 1:2];
    endfunction
    // Sv32 PTE bits (regs::sv32::pte)
    `define PTE_V(e) e[0]
    `define PTE_R(e) e[1]
    `define PTE_W(e) e[2]
    `define PTE_X(e) e[3]
    `define PTE_A(e) e[6]
    `define PTE_D(e) e[7]
    `define PTE_PPN(e) e[31:10]

    wire [33:0] iova = {2'b00, dn_iova};
    // device context (regs::iommu::dc): TC at DDT + dev * 8, FSC 4 bytes above
    wire [33:0] dc_addr = {ddtp_ppn, 12'd0} + {29'd0, dn_dev, 3'd0};
    wire dc_in_ram = dc_addr + 34'd8 <= RAM;
    wire dc_ok = dc_in_ram && tc[0] && tc[31:1] == 31'd0 && fsc[30:22] == 9'd0;
    wire dc_sv32 = fsc[31];
    // Sv32, level 1 (root table at FSC.PPN, indexed by VPN[1])
    wire [33:0] pte1_addr = {fsc[21:0], 12'd0} + {22'd0, dn_iova[31:22], 2'd0};
    wire pte1_in_ram = pte1_addr < RAM;
    // level 0 (table at PTE1.PPN, indexed by VPN[0])
    wire [33:0] pte0_addr = {`PTE_PPN(pte1), 12'd0} + {22'd0, dn_iova[21:12], 2'd0};
    wire pte0_in_ram = pte0_addr < RAM;
    always @* begin
        assume (tc == mem[index(dc_addr)]);
        assume (fsc == mem[index(dc_addr + 34'd4)]);
        assume (pte1 == mem[index(pte1_addr)]);
        assume (pte0 == mem[index(pte0_addr)]);
    end

    function automatic pte_invalid(input [31:0] e); // V = 0, or W without R
        pte_invalid = !`PTE_V(e) || (`PTE_W(e) && !`PTE_R(e));
    endfunction
    function automatic pte_leaf(input [31:0] e);
        pte_leaf = `PTE_R(e) || `PTE_X(e);
    endfunction
    function automatic pte_allows(input [31:0] e, input write);
        pte_allows = write ? (`PTE_W(e) && `PTE_A(e) && `PTE_D(e)) : (`PTE_R(e) && `PTE_A(e));
    endfunction

    // A superpage leaf at level 1 maps 4 MiB and must be aligned (PPN[0] = 0).
    wire [33:0] super_pa = {`PTE_PPN(pte1), 12'd0} + {12'd0, dn_iova[21:0]};
    wire [33:0] page_pa = {`PTE_PPN(pte0), 12'd0} + {22'd0, dn_iova[11:0]};
    reg sv32_ok;
    reg [33:0] sv32_pa;
    always @* begin
        sv32_ok = 1'b0;
        sv32_pa = 34'd0;
        if (pte1_in_ram && !pte_invalid(pte1)) begin
            if (pte_leaf(pte1)) begin
                sv32_pa = super_pa;
                sv32_ok = pte1[19:10] == 10'd0 && pte_allows(pte1, dn_we) && super_pa < RAM;
            end else if (pte0_in_ram && !pte_invalid(pte0) && pte_leaf(pte0)) begin
                sv32_pa = page_pa;
                sv32_ok = pte_allows(pte0, dn_we) && page_pa < RAM;
            end
        end
    end

    reg ref_ok;
    reg [33:0] ref_pa;
    always @* begin
        ref_ok = 1'b0;
        ref_pa = iova;
        case (ddtp_mode)
            MODE_BARE: ref_ok = iova < RAM;
            MODE_1LVL:
                if (dc_ok) begin
                    if (dc_sv32) begin
                        ref_ok = sv32_ok;
                        ref_pa = sv32_pa;
                    end else begin
                        ref_ok = iova < RAM;
                    end
                end
            default: ref_ok = 1'b0; // Off (all device DMA refused)
        endcase
    end

    // ---- the property ----
    always @* begin
        if (dev_beat) begin
            assert (ref_ok);                        // the walk allows this access
            assert ({2'b00, dn_addr} == ref_pa);    // at the walk's physical address
            assert (dn_valid && dn_ready && !own_beat); // a granted beat, the device's
        end
        assert (!up_resp || outstanding != 3'd0);   // a response answers an accepted beat
        assert (outstanding <= 3'd3);               // 2 buffered + S2: ready holds back
        assert (!(up_fault && up_ready));           // ready is low with a fault response
        assert (!up_fault || up_resp);              // a fault is a response
    end
endmodule
