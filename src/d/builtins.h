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
};

struct VarInfo {
  std::string_view name;
  Var var;
  Type type;
};
const VarInfo* find_var(std::string_view name);
std::vector<std::string> var_names();

// uregs[] indices: the position of the register in user_regs_struct, read as
// an array of 64-bit words (x86-64); then R_XMM0..R_XMM15 (the low 64 bits
// of each SSE register, from the FP state), which can be read but not
// assigned.
// DTrace's signal.d and errno.d: SIGHUP..SIGSYS (and SIGRTMIN/SIGRTMAX) and
// EPERM..EHWPOISON as integer constants, with Linux's values.
std::optional<int> find_constant(std::string_view name);
std::optional<int> find_register(std::string_view name);
inline constexpr int kRegisterCount = 27;       // writable: user_regs_struct words
// arg0..arg5 at a function's entry, as user_regs_struct words: rdi, rsi,
// rdx, rcx, r8, r9 (the System V AMD64 calling convention).
inline constexpr int kEntryArgWord[6] = {14, 13, 12, 11, 9, 8};
inline constexpr int kXmmRegisterBase = kRegisterCount;
inline constexpr int kReadableRegisterCount = kRegisterCount + 16;

enum class Fn : uint8_t {
  // actions (void)
  trace, printf, printa, exit, clear, trunc, normalize, denormalize, setopt,
  speculate, commit, discard, stop, raise, system, copyout, copyoutstr, override,
  tracemem, chill, freopen, ftruncate, copyinto, print,
  // functions with a value
  ustack, copyin, copyinstr, strlen, strjoin, substr, index, rindex, strtok,
  strstr, basename, dirname, ufunc, usym, umod, uaddr, speculation, rand,
  lltostr, toupper, tolower, progenyof, strchr, strrchr, htons, htonl, htonll, ntohs,
  ntohl, ntohll, inet_ntoa, inet_ntoa6, inet_ntop, alloca,
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
