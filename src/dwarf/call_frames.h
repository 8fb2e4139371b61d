// dwarf/call_frames.h — where a function's caller is, from the object's call
// frame information (.eh_frame, or .debug_frame), for stack walks.
//
// The one idea: a frame-pointer walk is right wherever rbp is the current
// function's frame, and wrong in exactly one frame: the innermost, when it
// is in a prologue or epilogue, or in a function that never sets up a frame
// (gcc -O2 leaves leaf functions without one even with
// -fno-omit-frame-pointer). The CFI every x86-64 object carries for
// exceptions says, at any pc, how to compute the Canonical Frame Address
// (CFA = rsp + N, or rbp + N); the return address is at CFA - 8 on
// x86-64. That one rule fixes the innermost frame; the callers above it
// are mid-call, where rbp chains are right.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "util/result.h"

namespace probekit::dwarf {

// CFA = value of DWARF register `reg` (x86-64: 6 rbp, 7 rsp) + offset.
struct CfaRule {
  int reg = 7;
  int64_t offset = 8;
};

class CallFrames {
public:
  // The CFI of the object at path (.eh_frame; the loaded file itself, no
  // debug information needed). An object without CFI is an Error.
  static Result<std::unique_ptr<CallFrames>> open(const std::string& path);
  ~CallFrames();
  CallFrames(const CallFrames&) = delete;
  CallFrames& operator=(const CallFrames&) = delete;

  // The CFA rule at link-time address vaddr; nullopt where the CFI has no
  // entry or the rule is an expression (not register + offset).
  std::optional<CfaRule> cfa_at(uint64_t vaddr) const;

  struct Handles;

private:
  explicit CallFrames(std::unique_ptr<Handles> h);
  std::unique_ptr<Handles> h_;
};

}  // namespace probekit::dwarf
