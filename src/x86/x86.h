// x86/x86.h — everything probekit knows about x86-64 instructions.
//
// The engine asks three questions about a probe site, in this order:
//   1. is the address an instruction boundary?       check_boundary()
//   2. may it be probed at all, and how?              analyze()  ("can I?")
//   3. what does the hit do?                          emulate() or relocate()
// Emulation runs the instruction's effect in the tracer (one ptrace stop);
// relocation produces an out-of-line copy for a fixed slot address, either
// "boosted" (the copy ends in a jump back, no single-step) or stepped.
//
// Decoding is Zydis 4.0.0; Zydis stays out of this header. Relocation never
// uses the Zydis encoder (4.0.0 has two branch-encoding bugs, see
// /work/shared/reference/mechanism.md §7): displacements are patched in the
// original bytes and branches are written by hand below.
#pragma once

#include <sys/user.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "util/result.h"

namespace probekit::x86 {

namespace detail {
struct Decoded;  // the ZydisDecodedInstruction + operands (x86.cpp)
}

struct Instruction {
  uint64_t address = 0;  // where it lives (or is assumed to)
  uint8_t length = 0;
  std::array<uint8_t, 15> bytes{};

  // Intel syntax via ZydisFormatter, e.g. "mov rax, qword ptr [rip+0x2f3a]".
  std::string text() const;
  // Lower-case mnemonic only, e.g. "mov", "jnz".
  std::string mnemonic() const;
  // True when the instruction has a rip-relative memory operand.
  bool is_rip_relative() const;
  // For a relative branch (jmp/jcc/call/loop/jrcxz rel): the absolute target.
  // For a rip-relative memory operand: the absolute memory address. Else 0.
  uint64_t target() const;

  // The decoded form; null for a default-constructed Instruction.
  std::shared_ptr<const detail::Decoded> decoded;
};

Result<Instruction> decode(const uint8_t* code, size_t len, uint64_t address);
// Decodes [start, start+bytes.size()) linearly (the function body from the
// symbol table). Fails on the first undecodable byte, naming its offset.
Result<std::vector<Instruction>> decode_all(std::span<const uint8_t> bytes, uint64_t start);
// ErrorKind::not_instruction_boundary when addr falls inside an instruction
// (decoding from func_start); the message names the enclosing instruction and
// the nearest boundaries, e.g. "offset 0x3 is inside 'mov rbp, rsp' at +0x1
// (3 bytes); nearest boundaries are +0x1 and +0x4". Addresses outside the
// function are refused too.
Status check_boundary(std::span<const uint8_t> func_bytes, uint64_t func_start, uint64_t addr);

enum class EmulationKind { none, jmp_rel, jcc, call_rel, ret, ret_imm, nop, push_reg, loop, jrcxz };
enum class Plan { emulate, boost, step };  // boost: run a copy + jmp back, no single-step
struct Analysis {
  Plan plan = Plan::step;
  EmulationKind emulation = EmulationKind::none;
  std::string note;  // why this plan (for -v)
};
const char* to_string(EmulationKind kind);
const char* to_string(Plan plan);

// "Can I?" before "do it". Errors: ErrorKind::denied_instruction with the
// reason (uprobes' deny list, see x86.cpp), or ErrorKind::cannot_relocate.
// The plan assumes the slot is within ±2GB of the site for boost; relocate()
// may still answer single_step for a far slot (rip-relative via scratch).
Result<Analysis> analyze(const Instruction& insn);

// Emulation in the tracer (one ptrace stop per hit). Memory goes through callbacks.
struct StackAccess {
  std::function<Result<uint64_t>(uint64_t addr)> read_u64;
  std::function<Status(uint64_t addr, uint64_t value)> write_u64;
};
// Applies insn's effect to regs (rip, rsp, rcx for loop, flags read for jcc),
// reading/writing the stack through mem. Only for Analysis::plan == emulate.
// regs is left untouched when a memory access fails.
Status emulate(const Instruction& insn, EmulationKind kind, user_regs_struct& regs,
               const StackAccess& mem);
// True when the jcc/loop/jrcxz would be taken given rflags/rcx (exposed for
// tests). For loop* this looks at rcx-1 (the value after the decrement).
bool condition_taken(const Instruction& insn, const user_regs_struct& regs);

// user_regs_struct viewed as uint64_t[27]: indices of the general registers.
namespace reg {
inline constexpr int r15 = 0, r14 = 1, r13 = 2, r12 = 3, rbp = 4, rbx = 5, r11 = 6, r10 = 7,
                     r9 = 8, r8 = 9, rax = 10, rcx = 11, rdx = 12, rsi = 13, rdi = 14,
                     orig_rax = 15, rip = 16, cs = 17, eflags = 18, rsp = 19;
inline constexpr int count = 27;
}  // namespace reg
uint64_t& reg_at(user_regs_struct& regs, int index);
uint64_t reg_at(const user_regs_struct& regs, int index);
const char* reg_name(int index);  // "rsi" for reg::rsi

// Out-of-line copy for one probe site at a fixed slot address. The copy is
// immutable once written, so every thread can run it concurrently.
//
// Running it at a hit (trap backend), after the handlers ran:
//   boost (single_step == false): rip = slot; continue. The copy jumps back to
//     insn.address + length itself (or leaves through its own ret/jmp).
//   step: save the registers; if scratch_reg >= 0 set that register to
//     scratch_value; rip = slot; PTRACE_SINGLESTEP the thread; then
//     if fix_ip: rip += insn.address - slot (never for indirect jmp/call: rip
//     already is the real target); if fix_call: write insn.address + length
//     at [rsp]; restore the scratch register to its saved value (the
//     instruction never names it). If the step faulted instead, put rip back
//     to insn.address and restore the scratch register before delivering the
//     signal (uprobes' arch_uprobe_abort_xol).
struct XolCode {
  std::vector<uint8_t> code;    // bytes to write at slot_address
  bool single_step = false;     // true: run code[0..insn_len) with PTRACE_SINGLESTEP then fix up;
                                // false: boost (copy ends with a jump back to insn.address+len)
  int scratch_reg = -1;         // -1 none; else an index into user_regs_struct viewed as uint64_t[27]
  uint64_t scratch_value = 0;   // value to load into the scratch register before running
                                // (original rip after insn); restore the register after the step
  bool fix_ip = false;          // after the step: rip += insn.address - slot_address
                                // (not for ret/indirect jmp/call targets)
  bool fix_call = false;        // after the step: the pushed return address is slot-relative:
                                // rewrite [rsp] = insn.address + len
};
size_t max_xol_size();  // bound on code.size() for any instruction (slot size)
// disp32 adjusted when the target stays within ±2GB of the slot; otherwise the
// scratch-register rewrite (rip-relative -> [rX + disp]) chosen from registers
// the instruction does not read or write (Zydis gives hidden operands), with
// single_step; refuses (cannot_relocate) what cannot be done, with the reason.
// Boost (no step) is allowed only for instructions that do not branch, are
// not rip-relative-out-of-reach, and do not read rip otherwise; indirect
// call/jmp through memory or register and everything with side effects on rip
// go to the step plan.
Result<XolCode> relocate(const Instruction& insn, uint64_t slot_address);

// Branch writers (by hand, never the Zydis encoder):
std::vector<uint8_t> jmp_rel32(uint64_t from, uint64_t to);  // e9 + rel32; asserts range
std::vector<uint8_t> jmp_abs64(uint64_t to);                  // ff 25 00 00 00 00 + imm64 (14 bytes)
std::vector<uint8_t> jmp_to(uint64_t from, uint64_t to);      // rel32 when in range, else abs64
// True when a rel32 field of an instruction ending at from_next reaches to.
bool fits_rel32(uint64_t from_next, uint64_t to);

// For return probes (DTrace pid-provider style): every instruction of the
// function that leaves it. decode_all over [start, start+size); a `ret`/`ret
// imm16` is a return site; a `jmp rel` (or jcc) whose target lies outside
// [start, start+size) is a tail call and a return site, unless
// is_own_part(target) says the target belongs to the same function (FUNC.cold
// parts); an indirect `jmp reg/[mem]` is reported separately (may be a jump
// table or a tail call). is_own_part may be empty (nothing is own part).
struct ExitSite {
  enum class Kind { ret, tail_call, indirect_jmp };
  uint64_t address = 0;
  Kind kind = Kind::ret;
  uint64_t target = 0;  // tail_call: the branch target; otherwise 0
};
Result<std::vector<ExitSite>> find_exits(std::span<const uint8_t> bytes, uint64_t start,
                                         const std::function<bool(uint64_t)>& is_own_part);

}  // namespace probekit::x86

namespace probekit::x86 {

// Jump probes (the kernel's optprobes, done for a process): the instructions
// covering at least 5 bytes from a site are replaced by `jmp rel32` to a
// trampoline, and run from a relocated copy there. "Can I?" first:
// plan_jump() decides eligibility as optprobes' can_optimize() does, from
// the whole function's code (original bytes):
//   * the function decodes completely;
//   * the 5 bytes end inside the function at an instruction boundary;
//   * no relative branch anywhere in the function, or in its other parts
//     (`others`: FUNC.cold code), lands strictly inside the patched range
//     (a thread would land in the middle of the jmp);
//   * the function has no indirect jmp (a jump table could land there);
//   * no displaced instruction is a call (its return address would point
//     into the trampoline), a syscall/int/int3, on the uprobes deny-list, or
//     an indirect branch; a relative jmp/jcc or a ret may only come last.
// Errors are ErrorKind::cannot_relocate with the reason, for `-v`.
struct JumpPlan {
  uint64_t address = 0;
  size_t length = 0;                      // bytes of the displaced instructions (>= the patch)
  std::vector<Instruction> displaced;     // the instructions covering them
};
struct CodeRange {
  std::span<const uint8_t> bytes;
  uint64_t start = 0;
};
Result<JumpPlan> plan_jump(const CodeRange& function, uint64_t address,
                           std::span<const CodeRange> others = {});

// The displaced instructions relocated to run at `at`, followed by a jump
// back to address + length: byte-patched copies (rip-relative disp32
// adjusted), branches written by hand; every copy re-decoded and checked.
// copy_of maps each displaced instruction's address to its copy's, so a
// thread stopped inside the patched range can be moved into the copy.
struct RelocatedBlock {
  std::vector<uint8_t> code;
  std::vector<std::pair<uint64_t, uint64_t>> copy_of;  // original -> copy
};
// jump_back false: no jump back is appended (the caller writes what follows
// the copies: an exit site's probe and its `ret`).
Result<RelocatedBlock> relocate_block(const JumpPlan& plan, uint64_t at, bool jump_back = true);

// An exit site's window (return probes at jump speed): the `ret` at
// `ret_address` and the whole instructions just before it, at least 5 bytes
// ending with the `ret`, so that a `jmp rel32` can replace them and the
// probe run after the copies of the others (`pop rbx; pop rbp; ret`,
// `leave; ret`), with rsp as at the `ret`. The instructions before the
// `ret` must be plain (plan_displaced's rules: no branch, call or
// syscall), and no branch of the function may land inside the window but
// at its first byte, nor may the function have an indirect jmp (the engine
// checks the whole module's branches too, x86::scan_branches). ret_address must be
// an instruction boundary of `function` (decoded linearly from its start).
// `from`, when not 0: the window starts there instead (an instruction
// boundary at or before the shortest window's start: an entry site's
// window that the exit's overlaps, made one).
Result<JumpPlan> plan_exit(const CodeRange& function, uint64_t ret_address, uint64_t from = 0);

// plan_jump() without the whole-function part: only the displaced
// instructions are decoded and checked. For a caller that checked the
// branches of the whole module itself with scan_branches() (the engine:
// hand-written code such as glibc's string functions enters its neighbours
// past their first instruction, __mempcpy_* jumps to __memmove_*+3, which
// a check of one function cannot see). `address` must be an instruction
// boundary. `min_length`: the bytes the patch needs (5 for a jmp rel32, 2
// for a jmp rel8 to a hop in the padding before the function).
Result<JumpPlan> plan_displaced(const CodeRange& function, uint64_t address, size_t min_length = 5);

// Alignment padding the linker left between two functions: true when
// `bytes` are whole NOP instructions (of any length) and int3s only, so
// that nothing but a jump we write can execute there.
bool is_padding(std::span<const uint8_t> bytes, uint64_t start);
// The function's last instruction never falls through to the next bytes
// (ret, jmp, ud2, hlt, int3): glibc's *_chk functions, for one, end by
// falling through the padding into the next function.
bool ends_without_falling_through(const CodeRange& function);

// Every branch in code, decoded linearly: relative ones (jmp, jcc, call,
// loop, jrcxz) as (target, source), indirect jmps by address; complete is
// false when an undecodable byte stopped the scan.
struct BranchScan {
  std::vector<std::pair<uint64_t, uint64_t>> relative;
  std::vector<uint64_t> indirect_jmps;
  bool complete = true;
};
BranchScan scan_branches(std::span<const uint8_t> code, uint64_t start);

}  // namespace probekit::x86
