// Cycle loop around the Verilated board top (the Colorlight i5 top, prefix Vboard), driven
// through its pins: the host's UART line into `uart_rx`, the bridge's replies decoded from
// `uart_tx`; the RGMII pins to a PHY model (TX nibbles captured at TXC's edges and assembled
// into frames; RX nibbles driven at the PHY's own RXC, from the TX pins in PHY loopback); the
// PHY's MDC/MDIO/reset pins to the clause 22 model (mdio_phy.h).
//
// Time: a cycle is a core cycle of 20 ns (50 MHz; the PLL wrapper passes `clk25` through in
// simulation, so the harness drives it at the core rate). Within cycle c: inputs set, the core
// clock falls at 20c + 10 ns, the PHY's RXC (25 MHz, an edge every 20 ns) has its edge at
// 20c + 13 ns (not aligned to the core clock: the adapter's FIFO crosses between them), the
// core clock rises at 20c + 20 ns. The PHY drives RXD/RX_CTL at RXC's falling edge, so they are
// stable at the rising edge where the FPGA samples (as with a PHY's RGMII-ID receive delay).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "Vboard.h"
#include "sim/cpp/mdio_phy.h"
#include "rust/cxx.h"

#ifdef SIM_TRACE
#include "verilated_fst_c.h"
#endif

namespace dmanic {

class BoardSim {
 public:
  BoardSim(uint32_t divisor, const std::string& fst_path);
  ~BoardSim();
  BoardSim(const BoardSim&) = delete;
  BoardSim& operator=(const BoardSim&) = delete;

  // Queues bytes to send on the host -> board line (8N1, `divisor` cycles per bit, back to back).
  void send(rust::Slice<const uint8_t> bytes);
  // Runs until `want` received bytes are waiting or `max_cycles` have passed; returns (and
  // removes) every received byte.
  rust::Vec<uint8_t> receive(uint64_t max_cycles, uint64_t want);
  // Runs `cycles` cycles; bytes received meanwhile wait for the next receive().
  void idle(uint64_t cycles);
  uint64_t cycles() const { return cycle_; }
  // PHY loopback: the nibbles captured on the TX pins come back on the RX pins at RXC.
  void set_phy_loopback(bool on) { loopback_ = on; }
  void set_button(bool pressed) { button_ = pressed; }
  // The user LED, lit (its pin is active low).
  bool led() const { return top_->led_n == 0; }
  // TXC periods with TX_CTL high (nibbles sent), and stop bits the host saw as 0.
  uint64_t tx_nibbles() const { return tx_nibbles_; }
  // Frames the TX pins carried since the last call: each the bytes from the preamble on, with
  // bit 8 set on a byte during which TX_ER was signalled.
  rust::Vec<uint16_t> take_tx_frames();
  // The PHY model on MDC/MDIO (see Harness::set_mdio_phy).
  void set_mdio_phy(bool present, uint8_t address, rust::Slice<const uint16_t> power_up);
  uint16_t mdio_phy_reg(uint8_t reg) const { return mdio_phy_.reg(reg); }
  bool phy_reset_pin() const { return top_->eth_rst_n == 0; }
  uint64_t host_framing_errors() const { return framing_errors_; }
  // Bytes queued by send() and not yet completely on the line.
  uint64_t unsent() const { return tx_queue_.size(); }

 private:
  void step();
  void eval_at(uint64_t ns);
  void phy_rx_drive(bool next_edge_rising);
  void watch_tx();
  bool host_line();
  void sample_board_line(bool level);

  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<Vboard> top_;
#ifdef SIM_TRACE
  std::unique_ptr<VerilatedFstC> fst_;
#endif
  uint32_t divisor_;
  uint64_t cycle_ = 0;
  bool loopback_ = false;
  bool button_ = false;
  bool rxc_ = false;
  bool txc_ = false;
  bool tx_en_ = false;             // TX_CTL at TXC's last rising edge
  uint8_t tx_nibble_ = 0;
  int tx_half_ = 0;                // nibbles of the current byte so far
  uint16_t tx_byte_ = 0;
  std::vector<uint16_t> tx_frame_;
  std::vector<uint16_t> tx_frames_;  // frames, each followed by 0xFFFF
  std::deque<uint8_t> loop_;        // nibbles for RX: data | dv << 4 | er << 5
  uint8_t rx_cur_ = 0;              // the nibble on the RX pins
  uint64_t tx_nibbles_ = 0;
  MdioPhy mdio_phy_;
  bool mdio_line_ = true;
  // host -> board serializer: bit 0 start, 1..8 data, 9 stop.
  std::deque<uint8_t> tx_queue_;
  int tx_bit_ = -1;
  uint32_t tx_tick_ = 0;
  // board -> host deserializer.
  std::deque<uint8_t> rx_queue_;
  int rx_bit_ = -1;
  uint32_t rx_tick_ = 0;
  uint8_t rx_shift_ = 0;
  uint64_t framing_errors_ = 0;
};

std::unique_ptr<BoardSim> new_board_sim(uint32_t divisor, rust::Str fst_path);

}  // namespace dmanic
