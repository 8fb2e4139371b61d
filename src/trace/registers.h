// trace/registers.h — x86-64 register names as fetch-args spell them.
//
// The kernel's fetch-args name registers after pt_regs fields: `%ax`, `%di`,
// `%sp`, `%ip`, `%flags` are the full 64-bit registers. That is the dialect
// users copy from kprobe_events examples (`size=%di:u64`), so it wins where it
// collides with assembler names: `%ax`, `%di`, `%sp`... are 64 bits here, not
// 16. On top of the kernel's names we accept the assembler's spellings that do
// not collide: `%rax`..`%r15`, the 32-bit `%eax`/`%edi`/`%r8d`, the 16-bit
// `%r8w`..`%r15w`, and the 8-bit `%al`/`%ah`/`%dil`/`%r8b` (also `%r8l`).
// A sub-register is a (register, bit width, shift) view of the full one.
#pragma once

#include <sys/user.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace probekit::trace {

// The fields of user_regs_struct a fetch-arg can name.
enum class Gpr : uint8_t {
  rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp,
  r8, r9, r10, r11, r12, r13, r14, r15,
  rip, eflags, cs, ss, ds, es, fs, gs, fs_base, gs_base, orig_rax,
};

struct RegisterRef {
  Gpr reg = Gpr::rax;
  uint8_t bits = 64;   // 64, 32, 16 or 8
  uint8_t shift = 0;   // 8 for %ah, %bh, %ch, %dh
  bool operator==(const RegisterRef&) const = default;
};

// `name` without the '%'. Case-sensitive, lowercase as the kernel wants.
std::optional<RegisterRef> find_register(std::string_view name);
// Every accepted name, for "did you mean" suggestions.
const std::vector<std::string>& register_names();
// `xmm0`..`xmm15` -> 0..15 (the SSE registers, read through the FP state).
std::optional<uint8_t> find_xmm_register(std::string_view name);
// The low 64 bits of xmm`index` from user_fpregs_struct.xmm_space (four
// 32-bit words per register, least significant first).
uint64_t read_xmm_register(const user_fpregs_struct& fp, uint8_t index);

// The canonical name of the full register ("rdi"), for messages and tests.
const char* gpr_name(Gpr reg);

uint64_t read_register(const user_regs_struct& regs, RegisterRef ref);

// DWARF register numbers of the x86-64 psABI (0 rax, 1 rdx, 2 rcx, 3 rbx,
// 4 rsi, 5 rdi, 6 rbp, 7 rsp, 8-15 r8-r15, 16 the return address column,
// mapped to rip). Vector registers have no GPR view: nullopt (17-32 are
// xmm0-15: find them with xmm_from_dwarf).
std::optional<RegisterRef> register_from_dwarf(int regno);
std::optional<uint8_t> xmm_from_dwarf(int regno);

}  // namespace probekit::trace
