// Cycle loop around the Verilated board top (the Colorlight i5 top, prefix Vboard), driven
// through its pins: the host's UART line into `uart_rx`, the bridge's replies decoded from
// `uart_tx`; the RGMII pins to a PHY model (TX nibbles captured at TXC's edges and assembled
// into frames; RX nibbles driven at the PHY's own RXC, from the TX pins in PHY loopback); the
// PHY's MDC/MDIO/reset pins to the clause 22 model (mdio_phy.h).
//
// Time, in ps: a cycle is a core cycle of 20 ns (50 MHz; the PLL wrapper passes `clk25`
// through in simulation, so the harness drives it at the core rate): the core clock falls at
// 20c + 10 ns and rises at 20c + 20 ns. The PHY's RXC runs on its own timeline: 25 MHz, 100 ppm
// slow (an edge every 20.002 ns), its first edge 13 ns in, so its phase to the core clock
// drifts through every value (a full turn every 200 µs) and the adapter's FIFO really crosses
// clocks. The PHY launches each RX nibble (with RX_DV) at a fixed offset from RXC's rising
// edge, and RX_DV xor RX_ER from its falling edge: `set_phy_rx_launch_ps` sets it, e.g. -2000
// (2 ns before: a PHY with its RGMII-ID receive delay on) or +1000 (1 ns after: no delay,
// data changing just after the edge). The TX pins are checked against TXC: every change of
// TXD/TX_CTL must be at least 8 ns from each TXC edge (`tx_timing_violations`).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "Vboard.h"
#include "sim/cpp/mdio_phy.h"
#include "rust/cxx.h"
#include "sim/cpp/fst_trace.h"


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
  uint16_t mdio_phy_reg(uint8_t reg) const { return mdio_phy_.phy(0).reg(reg); }
  bool phy_reset_pin() const { return top_->eth_rst_n == 0; }
  // The PHY's RX launch time relative to RXC's edges, in ps (see above).
  void set_phy_rx_launch_ps(int32_t offset_ps);
  // TXD/TX_CTL changes closer than 8 ns to a TXC edge, since power-up.
  uint64_t tx_timing_violations() const { return tx_timing_violations_; }
  uint64_t host_framing_errors() const { return framing_errors_; }
  // Bytes queued by send() and not yet completely on the line.
  uint64_t unsent() const { return tx_queue_.size(); }

 private:
  void step();
  void eval_at(uint64_t ps);
  void phy_rx_drive(bool for_rising_edge);
  void watch_tx(uint64_t ps);
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
  static constexpr uint64_t kCorePs = 20000;
  static constexpr uint64_t kRxcHalfPs = 20002;
  static constexpr uint64_t kTxMarginPs = 8000;
  bool rxc_ = false;
  uint64_t rxc_next_ps_ = 13000;
  uint64_t drive_next_ps_ = 13000 - 2000;  // launches for the rising edge at 13 ns
  bool drive_rising_ = true;
  bool txc_ = false;
  uint8_t tx_pins_ = 0;
  uint64_t tx_change_ps_ = 0, txc_edge_ps_ = 0, tx_timing_violations_ = 0;
  bool tx_en_ = false;             // TX_CTL at TXC's last rising edge
  uint8_t tx_nibble_ = 0;
  int tx_half_ = 0;                // nibbles of the current byte so far
  uint16_t tx_byte_ = 0;
  std::vector<uint16_t> tx_frame_;
  std::vector<uint16_t> tx_frames_;  // frames, each followed by 0xFFFF
  std::deque<uint8_t> loop_;        // nibbles for RX: data | dv << 4 | er << 5
  uint8_t rx_cur_ = 0;              // the nibble on the RX pins
  uint64_t tx_nibbles_ = 0;
  MdioBus mdio_phy_;  // the board's PHY in slot 0
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
