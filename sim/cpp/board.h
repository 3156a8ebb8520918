// Cycle loop around the Verilated board top (the Alchitry Cu top, prefix Vboard): the host's
// UART line into `uart_rx`, the bridge's replies decoded from `uart_tx`, and optionally the
// RMII pins looped back (what the PHY module's loopback mode or a cable plug would do).
//
// One cycle: set inputs -> clock=0, eval -> sample uart_tx and the RMII TX pins -> (trace)
// -> clock=1, eval -> cycle++. The PLL wrapper passes the board clock through in simulation,
// so one cycle here is one core cycle.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "Vboard.h"
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
  // RMII TX pins fed back into the RX pins (CRS_DV = TX_EN, RXD = TXD) from the next cycle.
  void set_rmii_loopback(bool on) { loopback_ = on; }
  void set_button(bool pressed) { button_ = pressed; }
  uint8_t led() const { return top_->led; }
  // Cycles with RMII TX_EN high, and stop bits the host side saw as 0 (framing errors).
  uint64_t rmii_tx_cycles() const { return rmii_tx_cycles_; }
  uint64_t host_framing_errors() const { return framing_errors_; }
  // Bytes queued by send() and not yet completely on the line.
  uint64_t unsent() const { return tx_queue_.size(); }

 private:
  void step();
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
  uint8_t prev_txd_ = 0;
  bool prev_tx_en_ = false;
  uint64_t rmii_tx_cycles_ = 0;
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
