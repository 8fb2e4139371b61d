// Helpers shared by the x86 tests: bytes from readable hex, bytes back to
// hex (so expectations read like a disassembly listing), and re-decoding of
// relocated code.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "x86/x86.h"

namespace probekit::x86::testing {

inline std::vector<uint8_t> bytes_of(const std::string& hex) {
  std::vector<uint8_t> out;
  std::istringstream in(hex);
  std::string b;
  while (in >> b) out.push_back(static_cast<uint8_t>(std::stoul(b, nullptr, 16)));
  return out;
}

inline std::string hex_of(const std::vector<uint8_t>& bytes) {
  std::string s;
  for (size_t i = 0; i < bytes.size(); ++i) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%s%02x", i ? " " : "", bytes[i]);
    s += buf;
  }
  return s;
}

// Decodes one instruction given as hex at addr; fails the test if it does not
// decode or has bytes left over.
inline Instruction insn_of(const std::string& hex, uint64_t addr) {
  std::vector<uint8_t> b = bytes_of(hex);
  auto r = decode(b.data(), b.size(), addr);
  EXPECT_TRUE(r.ok()) << hex << ": " << (r.ok() ? "" : r.error().message());
  if (!r.ok()) return Instruction{};
  EXPECT_EQ(r->length, b.size()) << hex << " decodes as '" << r->text() << "'";
  return *r;
}

// One instruction of relocated code, re-decoded at its slot address, with
// where it goes: the branch destination (following a jmp [rip+0] literal),
// or the rip-relative memory address.
struct Emitted {
  Instruction insn;
  uint64_t destination = 0;
};

inline bool is_abs_jmp(const Instruction& i) {
  static const uint8_t abs[] = {0xff, 0x25, 0, 0, 0, 0};
  return i.length == 6 && std::memcmp(i.bytes.data(), abs, 6) == 0;
}

// Re-decodes every instruction of code placed at slot (skipping the 8-byte
// literal after each jmp [rip+0]).
inline std::vector<Emitted> redecode(const std::vector<uint8_t>& code, uint64_t slot) {
  std::vector<Emitted> out;
  size_t off = 0;
  while (off < code.size()) {
    auto r = decode(code.data() + off, code.size() - off, slot + off);
    EXPECT_TRUE(r.ok()) << "re-decoding at +" << off;
    if (!r.ok()) break;
    Emitted e{*r, r->target()};
    off += r->length;
    if (is_abs_jmp(*r)) {
      EXPECT_LE(off + 8, code.size());
      uint64_t lit = 0;
      std::memcpy(&lit, code.data() + off, 8);
      EXPECT_EQ(e.destination, slot + off) << "jmp [rip+0] must read the literal after it";
      e.destination = lit;
      off += 8;
    }
    out.push_back(e);
  }
  return out;
}

}  // namespace probekit::x86::testing
