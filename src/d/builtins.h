// d/builtins.h — the names D gives meaning to: built-in variables, the
// uregs[] register names, functions, actions and aggregating functions.
//
// One table each, read by the semantic pass (types, argument counts, which
// actions are destructive or record data) and by the compiler (which node
// to build). Adding a function means one row here, its typing rule in sema
// and its node in the compiler.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "d/types.h"

namespace probekit::d {

enum class Var : uint8_t {
  timestamp, vtimestamp, walltimestamp, pid, ppid, tid, uid, gid, execname,
  probeprov, probemod, probefunc, probename, arg0, arg1, arg2, arg3, arg4, arg5,
  arg6, arg7, arg8, arg9, errno_, curcpu, cpu, retval, epid, id, curthread, ucaller, ustackdepth,
  caller,  // the kernel's caller: refused (user space only), with the name to use
  stackdepth,  // the kernel's stack depth: refused likewise
  // sched.d's members of curcpu's cpuinfo_t as dtrace-utils fills them on
  // Linux: the CPU's physical package (sysfs topology), and processor set
  // and locality group, which Linux does not have (0).
  chip, pset, lgrp,
  // curpsinfo->M and curlwpsinfo->M (sema's rewrite of the member): one
  // member of the process or thread the probe fired in (ProcMember).
  curpsinfo, curlwpsinfo,
};

struct VarInfo {
  std::string_view name;
  Var var;
  Type type;
};
const VarInfo* find_var(std::string_view name);
std::vector<std::string> var_names();

// uregs[] indices: a register's number (below), which uregs_word() turns
// into its position in user_regs_struct, read as an array of 64-bit words
// (x86-64); then R_XMM0..R_XMM15 (the low 64 bits of each SSE register,
// from the FP state), which can be read but not assigned.
// DTrace's signal.d and errno.d: SIGHUP..SIGSYS (and SIGRTMIN/SIGRTMAX) and
// EPERM..EHWPOISON as integer constants, with Linux's values.
std::optional<int> find_constant(std::string_view name);
std::optional<int> find_register(std::string_view name);
// Register numbers are dtrace-utils' x86-64 regs.d (kernel pt_regs order,
// then R_DS 21, R_ES 22, R_FS 23, R_GS 24, R_TRAPNO 25), then probekit's
// R_FSBASE 26 and R_GSBASE 27, then R_XMM0..R_XMM15 at 64..79, apart from
// them so that an index past dtrace's last register (as uregs[42]) is none.
// uregs_word() turns one into its user_regs_struct word (an SSE register
// keeps its number).
inline constexpr int kRegisterCount = 28;       // writable: the general registers
int uregs_word(int register_number);
// arg0..arg5 at a function's entry, as user_regs_struct words: rdi, rsi,
// rdx, rcx, r8, r9 (the System V AMD64 calling convention).
inline constexpr int kEntryArgWord[6] = {14, 13, 12, 11, 9, 8};
inline constexpr int kXmmRegisterBase = 64;
// A register number uregs[] reads: a general register or an SSE one.
inline constexpr bool is_register_number(int64_t n) {
  return (n >= 0 && n < kRegisterCount) || (n >= kXmmRegisterBase && n < kXmmRegisterBase + 16);
}
inline constexpr int kReadableRegisterCount = kXmmRegisterBase + 16;

// The members of curpsinfo (psinfo_t) and curlwpsinfo (lwpsinfo_t) as
// dtrace-utils' procfs.d translates them from the kernel's task_struct,
// read here from /proc/PID (Host::proc_info). A member the translator does
// not define is D_XLATE_NOCONV; one that is a kernel address (pr_addr,
// pr_ttydev) is refused, probekit tracing user space only.
enum class ProcField : uint8_t {
  zero,  // a constant 0 on Linux (pr_wstat, pr_taskid, pr_wchan, ...)
  nlwp, pid, ppid, pgid, sid, uid, euid, gid, egid, fname, psargs, argc, argv, envp, dmodel,
  flag, lwpid, state, sname, pri, name, onpro,
};
struct ProcMember {
  std::string_view name;
  enum class Kind : uint8_t { value, no_conversion, kernel_address } kind;
  ProcField field;
  Type type;
  // A char array of procfs.d's (pr_fname[PRFNSZ], pr_psargs[PRARGSZ],
  // pr_name, pr_clname): its length, which a constant index must be below.
  uint16_t array_len = 0;
};
// nullptr: not a member of psinfo_t (lwp false) or lwpsinfo_t (lwp true).
const ProcMember* find_proc_member(bool lwp, std::string_view name);

enum class Fn : uint8_t {
  // actions (void)
  trace, printf, printa, exit, clear, trunc, normalize, denormalize, setopt,
  speculate, commit, discard, stop, raise, system, copyout, copyoutstr, override,
  tracemem, chill, freopen, ftruncate, copyinto, print, bcopy,
  panic, breakpoint,  // the kernel's: refused even with -w (user space only)
  // functions with a value
  ustack, copyin, copyinstr, strlen, strjoin, substr, index, rindex, strtok,
  strstr, basename, dirname, ufunc, usym, umod, uaddr, speculation, rand,
  lltostr, toupper, tolower, progenyof, strchr, strrchr, htons, htonl, htonll, ntohs,
  ntohl, ntohll, inet_ntoa, inet_ntoa6, inet_ntop, alloca,
  link_ntop, cleanpath, getmajor, getminor,
  stack,  // the kernel's stack: refused (user space only), with the name to use
};

struct FnInfo {
  std::string_view name;
  Fn fn;
  int min_args;
  int max_args;       // -1: variadic
  bool is_action;     // a statement, not a value
  bool destructive;   // needs -w
  bool records_data;  // prints or records (the probe line precedes it)
};
const FnInfo* find_function(std::string_view name);
std::vector<std::string> function_names();

enum class AggFn : uint8_t { count, sum, avg, min, max, stddev, quantize, lquantize, llquantize };
struct AggFnInfo {
  std::string_view name;
  AggFn fn;
  int min_args;
  int max_args;
};
const AggFnInfo* find_agg_function(std::string_view name);

}  // namespace probekit::d
