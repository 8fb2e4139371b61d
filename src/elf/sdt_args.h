// elf/sdt_args.h — the argument specifications of USDT (.note.stapsdt) probes.
//
// <sys/sdt.h> lets the compiler choose where each probe argument lives and
// writes that choice into the note as GNU assembler operands: "-4@%eax"
// (a signed 4-byte value in eax), "8@-16(%rbp)" (8 bytes in memory),
// "8@%rdi", "4@$5" (a constant), "8@sym+8(%rip)", "4@(%rax,%rbx,4)". This
// file turns that text into SdtArg values and evaluates them against a
// thread's registers and memory; the front ends turn them into D's argN and
// `probekit trace` fetch-args. The one idea: a USDT argument is an operand,
// not an ABI slot, so it is read exactly as the note says, with the note's
// size and sign, and nothing about the engine is needed to do it.
#pragma once

#include <sys/user.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace probekit::elf {

// A register operand: the user_regs_struct word (offsetof / 8) and which
// bits of it ("%eax": 32 bits at 0; "%ah": 8 bits at 8).
struct SdtRegister {
  int word = -1;
  uint8_t bits = 64;
  uint8_t shift = 0;
  std::string name;  // as written, without '%'
};

struct SdtArg {
  enum class Kind { reg, mem, imm };
  Kind kind = Kind::imm;
  uint8_t size = 8;         // bytes: 1, 2, 4 or 8
  bool is_signed = false;   // a '-' before the size
  SdtRegister reg;          // reg: the value; mem: the base (word -1: none)
  SdtRegister index;        // mem: the index register (word -1: none)
  uint8_t scale = 1;        // mem: 1, 2, 4 or 8
  int64_t offset = 0;       // mem: the displacement; imm: the value
  std::string symbol;       // mem: "sym" of "sym+8(%rip)" (offset holds the +8)
  std::string text;         // the specification as written
};

// "-4@%eax 8@-16(%rbp)" -> two arguments. An argument without "SIZE@" is
// 8 unsigned bytes (old notes). Errors (parse) name the argument and what
// is wrong with it.
Result<std::vector<SdtArg>> parse_sdt_args(std::string_view text);

// Reads target memory: true when len bytes at addr were read into buf.
using SdtReader = std::function<bool(uint64_t addr, void* buf, size_t len)>;

// The argument's value at a hit: the note's size, sign-extended when signed,
// zero-extended otherwise. symbol_address is the runtime address of a
// symbol-relative memory operand's symbol (mem with symbol), else unused.
// Errors: bad_address when memory cannot be read.
Result<uint64_t> evaluate_sdt_arg(const SdtArg& arg, const user_regs_struct& regs, const SdtReader& read,
                                  uint64_t symbol_address = 0);

}  // namespace probekit::elf
