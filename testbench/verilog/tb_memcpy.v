// Icarus Verilog testbench for the simulator-speed comparison (testbench/src/speed.rs).
//
// Instantiates the SoC (`top` from rtl/verilog/soc_sim.v) and drives its host port exactly as
// the Verilator harness (sim/cpp/harness.cpp) does for `Soc::bench_memcpy_loop`: per
// iteration write DMAC SRC, DST, LEN, CTRL = START | IRQ_EN, clock idle cycles until `irq`,
// write STATUS = DONE | ERR. One cycle is the harness's `step()`: inputs set, clock low and
// settled, host_ready/host_rvalid/host_rdata sampled, rising edge.
//
// Nothing is defined here: speed.rs passes every address and value with -D, from the regs crate
// and its own constants, and writes the source pattern to PATTERN_FILE (one hex word a line):
//   REG_SRC REG_DST REG_LEN REG_CTRL REG_STATUS   register addresses on the host port
//   CTRL_START_IRQ STATUS_CLEAR                   values written to CTRL and STATUS
//   SRC_ADDR DST_ADDR LEN_BYTES ITERATIONS        the copy and how often to repeat it
//   PATTERN_FILE                                  "path" of the source words
//
// Output (stdout, flushed at once so speed.rs can time the loop from the lines' arrival):
//   SPEED loop_start <cycle>
//   SPEED loop_end <cycles> <min cycles/iteration> <max cycles/iteration>
//   SPEED rd <addr> <data>        one line per destination word read back after the loop
//   SPEED done
//   SPEED error <message>         (then $finish)
`timescale 1ns / 1ns

module tb;
    localparam LEN_WORDS = `LEN_BYTES / 4;
    // A host-port request not accepted within this many cycles means the port is stuck
    // (as in the harness).
    localparam STALL_BOUND = 1000000;

    reg clock = 1'b0;
    reg [31:0] host_addr = 32'h0;
    reg [31:0] host_wdata = 32'h0;
    reg [3:0] host_be = 4'h0;
    reg host_we = 1'b0;
    reg host_req = 1'b0;
    wire host_ready;
    wire host_rvalid;
    wire [31:0] host_rdata;
    wire irq;
    wire obs_cpu_req, obs_cpu_grant, obs_dma_req, obs_dma_grant, obs_bus_we;
    wire [31:0] obs_bus_addr, obs_bus_wdata;
    wire [3:0] obs_bus_be;
    wire [2:0] obs_dma_state;

    top dut (
        .clock(clock),
        .host_addr(host_addr),
        .host_wdata(host_wdata),
        .host_be(host_be),
        .host_we(host_we),
        .host_req(host_req),
        .host_ready(host_ready),
        .host_rvalid(host_rvalid),
        .host_rdata(host_rdata),
        .irq(irq),
        .obs_cpu_req(obs_cpu_req),
        .obs_cpu_grant(obs_cpu_grant),
        .obs_dma_req(obs_dma_req),
        .obs_dma_grant(obs_dma_grant),
        .obs_bus_we(obs_bus_we),
        .obs_bus_addr(obs_bus_addr),
        .obs_bus_wdata(obs_bus_wdata),
        .obs_bus_be(obs_bus_be),
        .obs_dma_state(obs_dma_state),
        .phy_tx_ce(1'b1),
        .phy_rx_ce(1'b1),
        // The NIC's other inputs idle, so that its clock gate sees defined levels.
        .phy_rxd(8'd0),
        .phy_rx_dv(1'b0),
        .phy_rx_er(1'b0),
        .mdio_in(1'b1),
        .ee_do(1'b1),
        .eeprom_present(1'b0),
        // Idle blocks on gated clocks, as in the Verilator runs (rtl/src/clock_gate.rs).
        .clock_gating(1'b1)
    );

    reg [31:0] pattern [0:LEN_WORDS-1];
    reg [63:0] cycle = 64'd0;
    // This cycle's host-port outputs, sampled before the rising edge.
    reg ready, rvalid;
    reg [31:0] rdata;

    task fail(input [8*64-1:0] what, input [31:0] addr);
        begin
            $display("SPEED error %0s 0x%08h at cycle %0d (DMAC state %0d)", what, addr, cycle,
                     obs_dma_state);
            $fflush;
            $finish;
        end
    endtask

    // One clock cycle with the inputs as they are.
    task step;
        begin
            clock = 1'b0;
            #1;
            ready = host_ready;
            rvalid = host_rvalid;
            rdata = host_rdata;
            clock = 1'b1;
            #1;
            cycle = cycle + 1;
        end
    endtask

    task drive_idle;
        begin
            host_req = 1'b0;
            host_addr = 32'h0;
            host_wdata = 32'h0;
            host_be = 4'h0;
            host_we = 1'b0;
        end
    endtask

    task host_write(input [31:0] addr, input [31:0] data);
        integer waited;
        begin
            waited = 0;
            host_req = 1'b1;
            host_addr = addr;
            host_wdata = data;
            host_be = 4'hF;
            host_we = 1'b1;
            step;
            while (!ready) begin
                waited = waited + 1;
                if (waited == STALL_BOUND) fail("write not accepted:", addr);
                step;
            end
            drive_idle;
        end
    endtask

    task host_read(input [31:0] addr, output [31:0] data);
        integer waited;
        begin
            waited = 0;
            host_req = 1'b1;
            host_addr = addr;
            host_wdata = 32'h0;
            host_be = 4'hF;
            host_we = 1'b0;
            step;
            while (!ready) begin
                waited = waited + 1;
                if (waited == STALL_BOUND) fail("read not accepted:", addr);
                step;
            end
            drive_idle;
            step;
            if (!rvalid) fail("no host_rvalid for the read of", addr);
            data = rdata;
        end
    endtask

    integer i, waited;
    reg [63:0] loop_start, iter_start, per, min_per, max_per;
    reg [31:0] word;

    initial begin
        $readmemh(`PATTERN_FILE, pattern);
        drive_idle;

        // Setup (not timed): the source words, through the host port.
        for (i = 0; i < LEN_WORDS; i = i + 1) host_write(`SRC_ADDR + 4 * i, pattern[i]);

        loop_start = cycle;
        min_per = ~64'd0;
        max_per = 64'd0;
        $display("SPEED loop_start %0d", cycle);
        $fflush;
        for (i = 0; i < `ITERATIONS; i = i + 1) begin
            iter_start = cycle;
            host_write(`REG_SRC, `SRC_ADDR);
            host_write(`REG_DST, `DST_ADDR);
            host_write(`REG_LEN, `LEN_BYTES);
            host_write(`REG_CTRL, `CTRL_START_IRQ);
            waited = 0;
            while (!irq) begin
                waited = waited + 1;
                if (waited == STALL_BOUND) fail("no interrupt; CTRL at", `REG_CTRL);
                step;
            end
            host_write(`REG_STATUS, `STATUS_CLEAR);
            per = cycle - iter_start;
            if (per < min_per) min_per = per;
            if (per > max_per) max_per = per;
        end
        $display("SPEED loop_end %0d %0d %0d", cycle - loop_start, min_per, max_per);
        $fflush;

        // Check (not timed): the destination, through the host port.
        for (i = 0; i < LEN_WORDS; i = i + 1) begin
            host_read(`DST_ADDR + 4 * i, word);
            $display("SPEED rd %08h %08h", `DST_ADDR + 4 * i, word);
        end
        $display("SPEED done");
        $fflush;
        $finish;
    end
endmodule
