// Cycle-accurate harness around the Verilated NIC alone (`rtl/verilog/nic_sim.v`, module `top`,
// class prefix `Vnic`): the model the QEMU bridge drives (docs/linux.md).
//
// Around the NIC it puts what a card and a host would: the register port (one access per
// call), both DMA ports served from memory outside the model (regions of host memory, such as
// a guest's RAM mapped from QEMU's memfd), the PHY's RX symbols and a TX frame collector, the
// MDIO bus with its PHYs (mdio_phy.h) and the EEPROM on EECD (eeprom_93c46.h).
//
// One cycle is:
//
//   set inputs (RX symbol, MDIO line, EEPROM DO, DMA responses due) -> clock=0, eval
//   -> sample the DMA requests (accept, perform, queue the response) and the TX pins
//   -> clock=1, eval -> the MDIO bus and the EEPROM see the new pins -> cycle++
//
// DMA target: `ready` is high except in the cycle of a fault response; every accepted beat is
// performed at once and answered in the next cycle (the latency the port allows; rtl's
// dma/port.rs). A beat whose word is not inside one memory region is not performed and is
// answered with `fault` (rdata = its address), which the NIC reports as a DMA error.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "Vnic.h"
#include "rust/cxx.h"
#include "sim/cpp/fst_trace.h"
#include "sim/cpp/eeprom_93c46.h"
#include "sim/cpp/mdio_phy.h"


namespace dmanic {

struct MemRegion;
struct NicActivity;

class NicModel {
 public:
  explicit NicModel(const std::string& fst_path);
  ~NicModel();
  NicModel(const NicModel&) = delete;
  NicModel& operator=(const NicModel&) = delete;

  // Register port: one access, then the cycle its read data comes back in (2 cycles per read,
  // 1 per write).
  void reg_write(uint32_t offset, uint32_t data);
  uint32_t reg_read(uint32_t offset);

  // The memory both DMA ports see: byte-addressed regions of this process's memory.
  void set_memory(rust::Slice<const MemRegion> regions);

  // Which ring-engine states wait for software rather than work (bit n: state code n; the
  // codes are regs::nic's TX_STATE_NAMES / RX_STATE_NAMES). Until set, none.
  void set_waiting_states(uint32_t tx_mask, uint32_t rx_mask);

  // Runs `n` cycles.
  void run(uint64_t n);
  // Runs until `idle_tail` cycles in a row without activity (see `active`; counted across
  // calls, and from 0 again after a register write or an RX frame) or `max` cycles; returns
  // the cycles run.
  uint64_t run_until_quiet(uint64_t idle_tail, uint64_t max);
  // Work in the last cycle run: a DMA request or response, a ring engine not waiting for
  // software, TX pins busy, RX symbols to play, an MDIO frame on the pins; or RX symbols
  // still queued.
  bool active() const;

  // A frame from its preamble to its FCS, one byte per cycle after those queued, then `gap`
  // idle cycles.
  void phy_rx_push(rust::Slice<const uint8_t> frame_with_preamble, uint32_t gap);
  uint64_t phy_rx_pending() const;
  // The next frame the MAC sent, as on its pins from the preamble to the FCS; false if none.
  // `er` says TX_ER was high in it; `end_cycle` is the cycle after its last byte.
  bool take_tx_frame(rust::Vec<uint8_t>& out, bool& er, uint64_t& end_cycle);

  void set_mdio_phy(uint8_t slot, bool present, uint8_t address,
                    rust::Slice<const uint16_t> power_up);
  uint16_t mdio_phy_reg(uint8_t slot, uint8_t reg) const;
  void set_eeprom(bool present, rust::Slice<const uint16_t> words);
  uint64_t eeprom_reads() const;

  bool irq() const;
  uint64_t now() const;
  NicActivity activity() const;
  void finish_trace();

 private:
  struct Port {
    bool resp_due = false, fault_due = false;
    uint32_t rdata_due = 0;
  };
  void step();
  void serve(Port& p, bool valid, uint32_t addr, bool we, uint32_t wdata, bool ready);
  uint8_t* word_at(uint32_t addr);

  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Vnic> top_;
#ifdef SIM_TRACE
  std::unique_ptr<VerilatedFstC> fst_;
#endif
  uint64_t cycle_ = 0;
  struct Region {
    uint64_t base, size;
    uint8_t* host;
  };
  std::vector<Region> mem_;
  Port tx_port_, rx_port_;
  bool active_ = false;
  uint32_t tx_waiting_ = 0, rx_waiting_ = 0;
  uint64_t quiet_ = 0;  // cycles in a row without activity
  uint64_t dma_reads_ = 0, dma_writes_ = 0, dma_faults_ = 0, last_dma_cycle_ = 0;

  std::vector<uint16_t> rx_;  // symbols still to play: byte | dv << 8
  size_t rx_next_ = 0;
  std::vector<uint8_t> tx_cur_;
  bool tx_cur_er_ = false;
  struct TxDone {
    std::vector<uint8_t> bytes;
    bool er;
    uint64_t end_cycle;
  };
  std::vector<TxDone> tx_done_;
  size_t tx_taken_ = 0;
  uint64_t tx_frames_ = 0, rx_frames_ = 0;

  MdioBus mdio_;
  bool mdio_line_ = true;
  Eeprom93c46 eeprom_;
  bool eeprom_present_ = false;
  bool ee_do_ = true;
};

std::unique_ptr<NicModel> new_nic_model(rust::Str fst_path);

}  // namespace dmanic
