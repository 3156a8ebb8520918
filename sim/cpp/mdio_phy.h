// The PHY's side of the management interface (IEEE 802.3 clause 22), as a board's PHY chip
// answers the NIC's MDIO master (rtl/src/nic/mdio.rs, docs/mdio.md): a register file of 32
// 16-bit registers at one address on the bus, its reset pin, and the few register behaviours
// a driver relies on. The register contents at power-up come from Rust (the PHY it models:
// testbench's phy module); nothing here knows a vendor.
//
// Pins: the model samples MDIO at each rising edge of MDC and, in a read addressed to it,
// drives the turnaround's second bit (0) and the 16 data bits, each right after a rising edge
// (so that the master sees it at the next one), releasing MDIO after the last. MDIO is open
// drain with a pull-up: the line is 0 if either side drives 0.
//
// Behaviour: BMCR.RESET (register 0 bit 15) restores the power-up values and reads 0 again
// at once; BMCR.RESTART_AN (bit 9, self-clearing) completes autonegotiation at once, so BMSR
// reads link up and AN complete (bits 2 and 5). Registers 1 (BMSR), 2 and 3 (the ID) are read
// only. While the reset pin is asserted the model answers nothing and comes out of it with
// its power-up values.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>

namespace dmanic {

class MdioPhy {
 public:
  static constexpr uint16_t kBmcrReset = 1u << 15;
  static constexpr uint16_t kBmcrRestartAn = 1u << 9;
  static constexpr uint16_t kBmsrLink = 1u << 2;
  static constexpr uint16_t kBmsrAnComplete = 1u << 5;

  // A PHY at `address` (0..31) with these power-up register values (`n` must be 32);
  // `present` false leaves the bus to the pull-up (a board without a PHY there).
  void configure(bool present, uint8_t address, const uint16_t* power_up, size_t n) {
    if (n != 32) throw std::invalid_argument("a PHY has 32 registers");
    present_ = present;
    address_ = address & 31;
    for (size_t i = 0; i < 32; i++) power_up_[i] = power_up[i];
    power_on();
  }

  // One core cycle, after the models' outputs settled: MDC, the MDIO line as everyone on the
  // bus leaves it now (sampled at MDC's rising edge; MdioBus works it out) and the PHY's reset
  // pin (active high). `released` says whether this PHY lets the line float.
  void step(bool mdc, bool line, bool reset) {
    if (reset) {
      power_on();
      last_mdc_ = mdc;
      return;
    }
    const bool rising = mdc && !last_mdc_;
    last_mdc_ = mdc;
    if (present_ && rising) on_rising(line);
  }
  bool released() const { return !drive_ || drive_value_; }

  uint16_t reg(uint8_t r) const { return regs_[r & 31]; }
  uint64_t frames() const { return frames_; }

 private:
  enum class State : uint8_t {
    Preamble,
    Start,
    Op,
    PhyAddr,
    RegAddr,
    TurnaroundRead,
    TurnaroundRead2,
    ReadData,
    TurnaroundWrite,
    WriteData,
    Ignore
  };

  void power_on() {
    regs_ = power_up_;
    state_ = State::Preamble;
    ones_ = 0;
    drive_ = false;
  }

  void restart(bool bit) {
    state_ = State::Preamble;
    ones_ = bit ? 1 : 0;
    drive_ = false;
  }

  void on_rising(bool bit) {
    switch (state_) {
      case State::Preamble:
        // 32 ones, then ST = 01: a 0 after at least 32 ones is the start's first bit.
        if (bit) {
          ones_ += ones_ < 255;
        } else if (ones_ >= 32) {
          state_ = State::Start;
        } else {
          ones_ = 0;
        }
        return;
      case State::Start:
        if (!bit) return restart(false);
        state_ = State::Op;
        n_ = 0;
        shift_ = 0;
        return;
      case State::Op:
        shift_ = (shift_ << 1) | bit;
        if (++n_ == 2) {
          op_ = shift_;
          state_ = (op_ == 0b10 || op_ == 0b01) ? State::PhyAddr : State::Ignore;
          n_ = 0;
          shift_ = 0;
          if (state_ == State::Ignore) skip_ = 5 + 5 + 2 + 16;
        }
        return;
      case State::PhyAddr:
        shift_ = (shift_ << 1) | bit;
        if (++n_ == 5) {
          phy_ = shift_;
          state_ = State::RegAddr;
          n_ = 0;
          shift_ = 0;
        }
        return;
      case State::RegAddr:
        shift_ = (shift_ << 1) | bit;
        if (++n_ == 5) {
          reg_ = shift_;
          n_ = 0;
          shift_ = 0;
          if (phy_ != address_) {
            state_ = State::Ignore;
            skip_ = 2 + 16;
          } else if (op_ == 0b10) {
            state_ = State::TurnaroundRead;
          } else {
            state_ = State::TurnaroundWrite;
          }
        }
        return;
      case State::TurnaroundRead:
        // The turnaround's first bit, released by both: drive its second (0) after this edge.
        state_ = State::TurnaroundRead2;
        drive_ = true;
        drive_value_ = false;
        return;
      case State::TurnaroundRead2:
        // The edge where the master saw our 0: data bit 15 from now on.
        state_ = State::ReadData;
        data_ = regs_[reg_];
        n_ = 0;
        drive_value_ = (data_ >> 15) & 1;
        return;
      case State::ReadData:
        if (++n_ == 16) {
          frames_++;
          restart(false);
          return;
        }
        drive_value_ = (data_ >> (15 - n_)) & 1;
        return;
      case State::TurnaroundWrite:
        if (++n_ == 2) {
          state_ = State::WriteData;
          n_ = 0;
          shift_ = 0;
        }
        return;
      case State::WriteData:
        shift_ = (shift_ << 1) | bit;
        if (++n_ == 16) {
          write(reg_, static_cast<uint16_t>(shift_));
          frames_++;
          restart(false);
        }
        return;
      case State::Ignore:
        if (--skip_ == 0) restart(false);
        return;
    }
  }

  void write(uint8_t r, uint16_t v) {
    switch (r) {
      case 0:
        if (v & kBmcrReset) {
          regs_ = power_up_;
          return;
        }
        if (v & kBmcrRestartAn) regs_[1] |= kBmsrLink | kBmsrAnComplete;
        regs_[0] = v & ~(kBmcrReset | kBmcrRestartAn);
        return;
      case 1:
      case 2:
      case 3:
        return;  // read only
      default:
        regs_[r] = v;
    }
  }

  bool present_ = false;
  uint8_t address_ = 0;
  std::array<uint16_t, 32> power_up_{};
  std::array<uint16_t, 32> regs_{};
  State state_ = State::Preamble;
  uint32_t ones_ = 0, n_ = 0, shift_ = 0, skip_ = 0;
  uint32_t op_ = 0, phy_ = 0, reg_ = 0;
  uint16_t data_ = 0;
  bool drive_ = false, drive_value_ = true, last_mdc_ = false;
  uint64_t frames_ = 0;
};

// Two PHYs on one MDIO bus (open drain: the line is 0 if anyone drives 0), sharing MDC and
// the reset pin, as on the Colorlight i5 or a board with an 8254x's PHY beside another.
class MdioBus {
 public:
  MdioPhy& phy(size_t i) {
    if (i >= phys_.size()) throw std::invalid_argument("the bus has two PHY slots");
    return phys_[i];
  }
  const MdioPhy& phy(size_t i) const { return phys_.at(i); }

  bool cycle(bool mdc, bool master_oe, bool master_out, bool reset) {
    const bool master = master_oe ? master_out : true;
    const bool now = master && phys_[0].released() && phys_[1].released();
    for (MdioPhy& p : phys_) p.step(mdc, now, reset);
    return master && phys_[0].released() && phys_[1].released();
  }

  uint64_t frames() const { return phys_[0].frames() + phys_[1].frames(); }

 private:
  std::array<MdioPhy, 2> phys_{};
};

}  // namespace dmanic
