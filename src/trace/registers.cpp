#include "trace/registers.h"

#include <array>

namespace probekit::trace {

namespace {

struct NamedRegister {
  std::string name;
  RegisterRef ref;
};

constexpr RegisterRef full(Gpr g) { return RegisterRef{g, 64, 0}; }
constexpr RegisterRef part(Gpr g, uint8_t bits, uint8_t shift = 0) { return RegisterRef{g, bits, shift}; }

// The kernel's pt_regs names first (full width), then the assembler's.
const std::vector<NamedRegister>& table() {
  static const std::vector<NamedRegister> regs = [] {
    std::vector<NamedRegister> t = {
        {"ax", full(Gpr::rax)},     {"bx", full(Gpr::rbx)},       {"cx", full(Gpr::rcx)},
        {"dx", full(Gpr::rdx)},     {"si", full(Gpr::rsi)},       {"di", full(Gpr::rdi)},
        {"bp", full(Gpr::rbp)},     {"sp", full(Gpr::rsp)},       {"ip", full(Gpr::rip)},
        {"flags", full(Gpr::eflags)}, {"orig_ax", full(Gpr::orig_rax)},
        {"cs", full(Gpr::cs)},      {"ss", full(Gpr::ss)},        {"ds", full(Gpr::ds)},
        {"es", full(Gpr::es)},      {"fs", full(Gpr::fs)},        {"gs", full(Gpr::gs)},
        {"fs_base", full(Gpr::fs_base)}, {"gs_base", full(Gpr::gs_base)},
        {"rax", full(Gpr::rax)},    {"rbx", full(Gpr::rbx)},      {"rcx", full(Gpr::rcx)},
        {"rdx", full(Gpr::rdx)},    {"rsi", full(Gpr::rsi)},      {"rdi", full(Gpr::rdi)},
        {"rbp", full(Gpr::rbp)},    {"rsp", full(Gpr::rsp)},      {"rip", full(Gpr::rip)},
        {"rflags", full(Gpr::eflags)}, {"eflags", part(Gpr::eflags, 32)},
        {"eax", part(Gpr::rax, 32)}, {"ebx", part(Gpr::rbx, 32)}, {"ecx", part(Gpr::rcx, 32)},
        {"edx", part(Gpr::rdx, 32)}, {"esi", part(Gpr::rsi, 32)}, {"edi", part(Gpr::rdi, 32)},
        {"ebp", part(Gpr::rbp, 32)}, {"esp", part(Gpr::rsp, 32)}, {"eip", part(Gpr::rip, 32)},
        {"al", part(Gpr::rax, 8)},  {"bl", part(Gpr::rbx, 8)},    {"cl", part(Gpr::rcx, 8)},
        {"dl", part(Gpr::rdx, 8)},  {"ah", part(Gpr::rax, 8, 8)}, {"bh", part(Gpr::rbx, 8, 8)},
        {"ch", part(Gpr::rcx, 8, 8)}, {"dh", part(Gpr::rdx, 8, 8)},
        {"sil", part(Gpr::rsi, 8)}, {"dil", part(Gpr::rdi, 8)},   {"bpl", part(Gpr::rbp, 8)},
        {"spl", part(Gpr::rsp, 8)},
    };
    static const std::array<Gpr, 8> high = {Gpr::r8,  Gpr::r9,  Gpr::r10, Gpr::r11,
                                            Gpr::r12, Gpr::r13, Gpr::r14, Gpr::r15};
    for (size_t i = 0; i < high.size(); ++i) {
      std::string base = "r" + std::to_string(8 + i);
      const std::pair<const char*, RegisterRef> forms[] = {
          {"", full(high[i])},           {"d", part(high[i], 32)}, {"w", part(high[i], 16)},
          {"b", part(high[i], 8)},       {"l", part(high[i], 8)},
      };
      for (const auto& [suffix, ref] : forms) t.push_back({base + suffix, ref});
    }
    return t;
  }();
  return regs;
}

}  // namespace

std::optional<RegisterRef> find_register(std::string_view name) {
  for (const auto& r : table())
    if (name == r.name) return r.ref;
  return std::nullopt;
}

const std::vector<std::string>& register_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& r : table()) out.push_back(r.name);
    for (int i = 0; i < 16; ++i) out.push_back("xmm" + std::to_string(i));
    return out;
  }();
  return names;
}

const char* gpr_name(Gpr reg) {
  switch (reg) {
  case Gpr::rax: return "rax";
  case Gpr::rbx: return "rbx";
  case Gpr::rcx: return "rcx";
  case Gpr::rdx: return "rdx";
  case Gpr::rsi: return "rsi";
  case Gpr::rdi: return "rdi";
  case Gpr::rbp: return "rbp";
  case Gpr::rsp: return "rsp";
  case Gpr::r8: return "r8";
  case Gpr::r9: return "r9";
  case Gpr::r10: return "r10";
  case Gpr::r11: return "r11";
  case Gpr::r12: return "r12";
  case Gpr::r13: return "r13";
  case Gpr::r14: return "r14";
  case Gpr::r15: return "r15";
  case Gpr::rip: return "rip";
  case Gpr::eflags: return "eflags";
  case Gpr::cs: return "cs";
  case Gpr::ss: return "ss";
  case Gpr::ds: return "ds";
  case Gpr::es: return "es";
  case Gpr::fs: return "fs";
  case Gpr::gs: return "gs";
  case Gpr::fs_base: return "fs_base";
  case Gpr::gs_base: return "gs_base";
  case Gpr::orig_rax: return "orig_rax";
  }
  return "?";
}

uint64_t read_register(const user_regs_struct& r, RegisterRef ref) {
  uint64_t v = 0;
  switch (ref.reg) {
  case Gpr::rax: v = r.rax; break;
  case Gpr::rbx: v = r.rbx; break;
  case Gpr::rcx: v = r.rcx; break;
  case Gpr::rdx: v = r.rdx; break;
  case Gpr::rsi: v = r.rsi; break;
  case Gpr::rdi: v = r.rdi; break;
  case Gpr::rbp: v = r.rbp; break;
  case Gpr::rsp: v = r.rsp; break;
  case Gpr::r8: v = r.r8; break;
  case Gpr::r9: v = r.r9; break;
  case Gpr::r10: v = r.r10; break;
  case Gpr::r11: v = r.r11; break;
  case Gpr::r12: v = r.r12; break;
  case Gpr::r13: v = r.r13; break;
  case Gpr::r14: v = r.r14; break;
  case Gpr::r15: v = r.r15; break;
  case Gpr::rip: v = r.rip; break;
  case Gpr::eflags: v = r.eflags; break;
  case Gpr::cs: v = r.cs; break;
  case Gpr::ss: v = r.ss; break;
  case Gpr::ds: v = r.ds; break;
  case Gpr::es: v = r.es; break;
  case Gpr::fs: v = r.fs; break;
  case Gpr::gs: v = r.gs; break;
  case Gpr::fs_base: v = r.fs_base; break;
  case Gpr::gs_base: v = r.gs_base; break;
  case Gpr::orig_rax: v = r.orig_rax; break;
  }
  v >>= ref.shift;
  if (ref.bits < 64) v &= (uint64_t{1} << ref.bits) - 1;
  return v;
}

std::optional<uint8_t> find_xmm_register(std::string_view name) {
  if (name.size() < 4 || name.size() > 5 || name.substr(0, 3) != "xmm") return std::nullopt;
  int n = 0;
  for (char c : name.substr(3)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n > 15 || (name.size() == 5 && name[3] == '0')) return std::nullopt;
  return static_cast<uint8_t>(n);
}

uint64_t read_xmm_register(const user_fpregs_struct& fp, uint8_t index) {
  if (index > 15) return 0;
  return static_cast<uint64_t>(fp.xmm_space[4 * index]) |
         static_cast<uint64_t>(fp.xmm_space[4 * index + 1]) << 32;
}

std::optional<uint8_t> xmm_from_dwarf(int regno) {
  if (regno < 17 || regno > 32) return std::nullopt;
  return static_cast<uint8_t>(regno - 17);
}

std::optional<RegisterRef> register_from_dwarf(int regno) {
  static constexpr std::array<Gpr, 17> map = {
      Gpr::rax, Gpr::rdx, Gpr::rcx, Gpr::rbx, Gpr::rsi, Gpr::rdi, Gpr::rbp, Gpr::rsp, Gpr::r8,
      Gpr::r9,  Gpr::r10, Gpr::r11, Gpr::r12, Gpr::r13, Gpr::r14, Gpr::r15, Gpr::rip,
  };
  if (regno < 0 || regno >= static_cast<int>(map.size())) return std::nullopt;
  return full(map[static_cast<size_t>(regno)]);
}

}  // namespace probekit::trace
