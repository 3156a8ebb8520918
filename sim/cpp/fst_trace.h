// Waveforms of the Verilated models (FST), written the same way by every harness: the
// context asked for trace hooks before the model is made, then a writer opened on the model
// with the harness's time unit. Without the `trace` feature (SIM_TRACE unset) asking for a
// waveform is an error.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

#include "verilated.h"

#ifdef SIM_TRACE
#include "verilated_fst_c.h"
#endif

namespace dmanic {

// Before the model's construction (or the model is built without trace hooks): turns tracing
// on in `ctx` if a waveform is asked for.
inline void prepare_trace(VerilatedContext& ctx, const std::string& fst_path) {
#ifdef SIM_TRACE
  if (!fst_path.empty()) ctx.traceEverOn(true);
#else
  (void)ctx;
  if (!fst_path.empty())
    throw std::runtime_error("sim was built without the `trace` feature; cannot write " + fst_path);
#endif
}

#ifdef SIM_TRACE
// An FST writer on `top`, open on `fst_path`, keeping time in `unit` ("1ns", "1ps").
template <class Model>
std::unique_ptr<VerilatedFstC> open_fst(Model& top, const std::string& fst_path, const char* unit) {
  auto fst = std::make_unique<VerilatedFstC>();
  top.trace(fst.get(), 99);
  fst->set_time_unit(unit);
  fst->set_time_resolution(unit);
  fst->open(fst_path.c_str());
  if (!fst->isOpen()) throw std::runtime_error("cannot open FST trace file " + fst_path);
  return fst;
}

// Closes the waveform if one is open (its end is written then), and forgets the writer.
inline void close_fst(std::unique_ptr<VerilatedFstC>& fst) {
  if (fst) {
    fst->close();
    fst.reset();
  }
}
#endif

}  // namespace dmanic
