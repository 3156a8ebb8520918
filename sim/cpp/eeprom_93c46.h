// A 93C46-style microwire serial EEPROM, 64 words of 16 bits, as an 8254x card carries one
// off-chip on its EECD pins (SK, CS, DI in; DO out). The NIC's EECD register drives the pins
// (rtl/src/nic/regs.rs); software bit-bangs the protocol through it, as Linux's e1000 does on
// an 82540. The contents come from Rust (regs::eeprom::image).
//
// Protocol, sampled at each rising edge of SK while CS is high: a start bit (1), a 2-bit opcode
// and a 6-bit address. READ (10): DO gives a dummy 0 after the address's last bit, then the
// word's 16 bits MSB first, each after a rising edge; further edges read the next words.
// EWEN (00 11xxxx) and EWDS (00 00xxxx) enable and disable writes; WRITE (01) takes 16 data bits
// and stores them if writes are enabled (done at once: DO reads 1, ready, when CS rises again).
// ERASE (11) sets the word to 0xFFFF if enabled. CS low ends any command. DO is 1 when the part
// is not driving a data bit.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>

namespace dmanic {

class Eeprom93c46 {
 public:
  void load(const uint16_t* words, size_t n) {
    if (n != 64) throw std::invalid_argument("a 93C46 holds 64 words");
    for (size_t i = 0; i < 64; i++) mem_[i] = words[i];
    write_enabled_ = false;
    reset();
  }

  // One core cycle with the pins as the NIC leaves them; returns DO.
  bool cycle(bool cs, bool sk, bool di) {
    if (!cs) {
      reset();
      last_sk_ = sk;
      return true;
    }
    const bool rising = sk && !last_sk_;
    last_sk_ = sk;
    if (rising) on_rising(di);
    return do_;
  }

  uint16_t word(uint8_t i) const { return mem_[i & 63]; }
  // Words read out whole, and words written.
  uint64_t reads() const { return reads_; }
  uint64_t writes() const { return writes_; }

 private:
  enum class State : uint8_t { Start, Command, Read, WriteData, Done };

  void reset() {
    state_ = State::Start;
    n_ = 0;
    shift_ = 0;
    do_ = true;
  }

  void on_rising(bool di) {
    switch (state_) {
      case State::Start:
        if (di) {
          state_ = State::Command;
          n_ = 0;
          shift_ = 0;
        }
        return;
      case State::Command:
        shift_ = (shift_ << 1) | di;
        if (++n_ < 8) return;
        opcode_ = (shift_ >> 6) & 3;
        addr_ = shift_ & 63;
        n_ = 0;
        shift_ = 0;
        switch (opcode_) {
          case 0b10:  // READ: the dummy 0, then the data from the next edge on
            state_ = State::Read;
            do_ = false;
            return;
          case 0b01:
            state_ = State::WriteData;
            return;
          case 0b11:
            if (write_enabled_) mem_[addr_] = 0xFFFF;
            state_ = State::Done;
            return;
          default:  // 00: EWEN (11xxxx) and EWDS (00xxxx); ERAL and WRAL are not modelled
            if ((addr_ >> 4) == 0b11) write_enabled_ = true;
            if ((addr_ >> 4) == 0b00) write_enabled_ = false;
            state_ = State::Done;
            return;
        }
      case State::Read:
        do_ = ((mem_[addr_] >> (15 - n_)) & 1) != 0;
        if (++n_ == 16) {
          n_ = 0;
          addr_ = (addr_ + 1) & 63;  // sequential read
          reads_++;
        }
        return;
      case State::WriteData:
        shift_ = (shift_ << 1) | di;
        if (++n_ == 16) {
          if (write_enabled_) {
            mem_[addr_] = static_cast<uint16_t>(shift_);
            writes_++;
          }
          state_ = State::Done;
        }
        return;
      case State::Done:
        return;
    }
  }

  std::array<uint16_t, 64> mem_{};
  State state_ = State::Start;
  uint32_t n_ = 0, shift_ = 0, opcode_ = 0, addr_ = 0;
  bool do_ = true, last_sk_ = false, write_enabled_ = false;
  uint64_t reads_ = 0, writes_ = 0;
};

}  // namespace dmanic
