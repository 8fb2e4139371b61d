// x86/decode.cpp — decoding with Zydis, and the instruction-boundary check.
//
// A probe must sit on an instruction boundary: an int3 in the middle of an
// instruction corrupts it for every thread. The only trustworthy way to know
// the boundaries of x86 code is to decode linearly from a known boundary, the
// symbol start (kprobes' can_probe does the same). Linear decoding is correct
// for compiler output of one function: compilers do not put data inside
// .text functions on x86-64 (jump tables live in .rodata).
#include "x86/x86.h"

#include <cstdio>
#include <cstring>

#include "x86/decoded.h"

namespace probekit::x86 {

namespace {

const ZydisDecoder& decoder() {
  static const ZydisDecoder d = [] {
    ZydisDecoder dec;
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    return dec;
  }();
  return d;
}

const ZydisFormatter& formatter() {
  static const ZydisFormatter f = [] {
    ZydisFormatter fmt;
    ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_INTEL);
    // Branch targets absolute (readable next to symbol addresses), rip-relative
    // operands relative ("[rip+0x2f3a]", as objdump prints them).
    ZydisFormatterSetProperty(&fmt, ZYDIS_FORMATTER_PROP_FORCE_RELATIVE_RIPREL, ZYAN_TRUE);
    ZydisFormatterSetProperty(&fmt, ZYDIS_FORMATTER_PROP_HEX_UPPERCASE, ZYAN_FALSE);
    return fmt;
  }();
  return f;
}

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string hex_bytes(const uint8_t* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%s%02x", i ? " " : "", p[i]);
    s += buf;
  }
  return s;
}

}  // namespace

namespace detail {

const Decoded& decoded_of(const Instruction& insn) {
  assert(insn.decoded && "x86::Instruction was not produced by x86::decode()");
  return *insn.decoded;
}

int find_operand(const Decoded& d, ZydisOperandType type) {
  for (int i = 0; i < d.insn.operand_count_visible; ++i) {
    if (d.ops[i].type == type) return i;
  }
  return -1;
}

const ZydisDecodedOperand* rip_relative_operand(const Decoded& d) {
  for (int i = 0; i < d.insn.operand_count; ++i) {
    const auto& op = d.ops[i];
    if (op.type == ZYDIS_OPERAND_TYPE_MEMORY &&
        (op.mem.base == ZYDIS_REGISTER_RIP || op.mem.base == ZYDIS_REGISTER_EIP)) {
      return &op;
    }
  }
  return nullptr;
}

const ZydisDecodedOperand* relative_branch_operand(const Decoded& d) {
  for (int i = 0; i < d.insn.operand_count_visible; ++i) {
    const auto& op = d.ops[i];
    if (op.type == ZYDIS_OPERAND_TYPE_IMMEDIATE && op.imm.is_relative) return &op;
  }
  return nullptr;
}

int user_reg_index(ZydisRegister r) {
  if (r == ZYDIS_REGISTER_NONE) return -1;
  if (ZydisRegisterGetClass(r) != ZYDIS_REGCLASS_GPR64 &&
      ZydisRegisterGetClass(r) != ZYDIS_REGCLASS_GPR32 &&
      ZydisRegisterGetClass(r) != ZYDIS_REGCLASS_GPR16 &&
      ZydisRegisterGetClass(r) != ZYDIS_REGCLASS_GPR8) {
    return -1;
  }
  switch (ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r)) {
    case ZYDIS_REGISTER_RAX: return reg::rax;
    case ZYDIS_REGISTER_RCX: return reg::rcx;
    case ZYDIS_REGISTER_RDX: return reg::rdx;
    case ZYDIS_REGISTER_RBX: return reg::rbx;
    case ZYDIS_REGISTER_RSP: return reg::rsp;
    case ZYDIS_REGISTER_RBP: return reg::rbp;
    case ZYDIS_REGISTER_RSI: return reg::rsi;
    case ZYDIS_REGISTER_RDI: return reg::rdi;
    case ZYDIS_REGISTER_R8: return reg::r8;
    case ZYDIS_REGISTER_R9: return reg::r9;
    case ZYDIS_REGISTER_R10: return reg::r10;
    case ZYDIS_REGISTER_R11: return reg::r11;
    case ZYDIS_REGISTER_R12: return reg::r12;
    case ZYDIS_REGISTER_R13: return reg::r13;
    case ZYDIS_REGISTER_R14: return reg::r14;
    case ZYDIS_REGISTER_R15: return reg::r15;
    default: return -1;
  }
}

}  // namespace detail

std::string Instruction::text() const {
  if (!decoded) return "(not decoded)";
  char buf[256];
  if (ZYAN_FAILED(ZydisFormatterFormatInstruction(&formatter(), &decoded->insn, decoded->ops,
                                                  decoded->insn.operand_count_visible, buf,
                                                  sizeof buf, address, nullptr))) {
    return "(unformattable " + hex_bytes(bytes.data(), length) + ")";
  }
  return buf;
}

std::string Instruction::mnemonic() const {
  if (!decoded) return "";
  const char* s = ZydisMnemonicGetString(decoded->insn.mnemonic);
  return s ? s : "";
}

bool Instruction::is_rip_relative() const {
  return decoded && detail::rip_relative_operand(*decoded) != nullptr;
}

uint64_t Instruction::target() const {
  if (!decoded) return 0;
  const ZydisDecodedOperand* op = detail::relative_branch_operand(*decoded);
  if (!op) op = detail::rip_relative_operand(*decoded);
  if (!op) return 0;
  ZyanU64 abs = 0;
  if (ZYAN_FAILED(ZydisCalcAbsoluteAddress(&decoded->insn, op, address, &abs))) return 0;
  return abs;
}

bool detail::decode_into(Decoded& d, const uint8_t* code, size_t len) {
  const size_t n = len < ZYDIS_MAX_INSTRUCTION_LENGTH ? len : ZYDIS_MAX_INSTRUCTION_LENGTH;
  return len && ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder(), code, n, &d.insn, d.ops));
}

bool detail::decode_insn_into(Decoded& d, const uint8_t* code, size_t len) {
  const size_t n = len < ZYDIS_MAX_INSTRUCTION_LENGTH ? len : ZYDIS_MAX_INSTRUCTION_LENGTH;
  ZydisDecoderContext ctx;
  return len && ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&decoder(), &ctx, code, n, &d.insn));
}

Result<Instruction> decode(const uint8_t* code, size_t len, uint64_t address) {
  if (len == 0) return Error("no bytes to decode at " + hex(address), ErrorKind::unsupported);
  auto d = std::make_shared<detail::Decoded>();
  size_t n = len < ZYDIS_MAX_INSTRUCTION_LENGTH ? len : ZYDIS_MAX_INSTRUCTION_LENGTH;
  if (ZYAN_FAILED(ZydisDecoderDecodeFull(&decoder(), code, n, &d->insn, d->ops))) {
    return Error("cannot decode an instruction at " + hex(address) + " (bytes " +
                     hex_bytes(code, n < 8 ? n : 8) + ")",
                 ErrorKind::unsupported);
  }
  Instruction insn;
  insn.address = address;
  insn.length = d->insn.length;
  std::memcpy(insn.bytes.data(), code, insn.length);
  insn.decoded = std::move(d);
  return insn;
}

Result<std::vector<Instruction>> decode_all(std::span<const uint8_t> bytes, uint64_t start) {
  std::vector<Instruction> out;
  size_t off = 0;
  while (off < bytes.size()) {
    auto insn = decode(bytes.data() + off, bytes.size() - off, start + off);
    if (!insn) {
      return std::move(insn).error().context("decoding at offset +" + hex(off));
    }
    off += insn->length;
    out.push_back(std::move(insn).value());
  }
  return out;
}

Status check_boundary(std::span<const uint8_t> func_bytes, uint64_t func_start, uint64_t addr) {
  if (addr < func_start || addr - func_start >= func_bytes.size()) {
    return Error("address " + hex(addr) + " is outside the function [" + hex(func_start) + ", " +
                     hex(func_start + func_bytes.size()) + "); use an offset below " +
                     hex(func_bytes.size()),
                 ErrorKind::not_instruction_boundary);
  }
  const uint64_t target = addr - func_start;
  uint64_t off = 0;
  while (off < target) {
    auto insn = decode(func_bytes.data() + off, func_bytes.size() - off, func_start + off);
    if (!insn) {
      return Error("cannot check that offset " + hex(target) +
                       " is an instruction boundary: " + insn.error().message(),
                   ErrorKind::not_instruction_boundary);
    }
    const uint64_t next = off + insn->length;
    if (target < next) {
      return Error("offset " + hex(target) + " is inside '" + insn->text() + "' at +" + hex(off) +
                       " (" + std::to_string(insn->length) + " bytes); nearest boundaries are +" +
                       hex(off) + " and +" + hex(next),
                   ErrorKind::not_instruction_boundary);
    }
    off = next;
  }
  return {};
}

}  // namespace probekit::x86
