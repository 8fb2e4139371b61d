#include "d/builtins.h"

#include <cerrno>
#include <csignal>

#include <string>

namespace probekit::d {

namespace {

const std::vector<VarInfo>& vars() {
  static const std::vector<VarInfo> table = {
      {"timestamp", Var::timestamp, Type::integer(8, false)},
      {"vtimestamp", Var::vtimestamp, Type::integer(8, false)},
      {"walltimestamp", Var::walltimestamp, Type::integer(8, true)},
      {"pid", Var::pid, Type::integer(4, true)},
      {"ppid", Var::ppid, Type::integer(4, true)},
      {"tid", Var::tid, Type::integer(4, true)},
      {"uid", Var::uid, Type::integer(4, false)},
      {"gid", Var::gid, Type::integer(4, false)},
      {"execname", Var::execname, Type::string()},
      {"probeprov", Var::probeprov, Type::string()},
      {"probemod", Var::probemod, Type::string()},
      {"probefunc", Var::probefunc, Type::string()},
      {"probename", Var::probename, Type::string()},
      {"arg0", Var::arg0, Type::integer(8, true)},
      {"arg1", Var::arg1, Type::integer(8, true)},
      {"arg2", Var::arg2, Type::integer(8, true)},
      {"arg3", Var::arg3, Type::integer(8, true)},
      {"arg4", Var::arg4, Type::integer(8, true)},
      {"arg5", Var::arg5, Type::integer(8, true)},
      {"arg6", Var::arg6, Type::integer(8, true)},
      {"arg7", Var::arg7, Type::integer(8, true)},
      {"arg8", Var::arg8, Type::integer(8, true)},
      {"arg9", Var::arg9, Type::integer(8, true)},
      {"errno", Var::errno_, Type::integer(4, true)},
      {"curcpu", Var::curcpu, Type::integer(4, true)},
      {"cpu", Var::cpu, Type::integer(4, true)},
      {"retval", Var::retval, Type::integer(8, true)},
      {"epid", Var::epid, Type::integer(4, false)},
      {"id", Var::id, Type::integer(4, false)},
      {"curthread", Var::curthread, Type::pointer()},
      {"ucaller", Var::ucaller, Type::integer(8, false)},
      {"ustackdepth", Var::ustackdepth, Type::integer(4, false)},
      {"caller", Var::caller, Type::integer(8, false)},
      {"stackdepth", Var::stackdepth, Type::integer(4, false)},
      {"chip", Var::chip, Type::integer(4, true)},  // chipid_t, psetid_t, lgrp_id_t: id_t
      {"pset", Var::pset, Type::integer(4, true)},
      {"lgrp", Var::lgrp, Type::integer(4, true)},
      {"curpsinfo", Var::curpsinfo, Type::pointer()},
      {"curlwpsinfo", Var::curlwpsinfo, Type::pointer()},
  };
  return table;
}

}  // namespace

const ProcMember* find_proc_member(bool lwp, std::string_view name) {
  using K = ProcMember::Kind;
  using F = ProcField;
  const Type i32 = Type::integer(4, true), u32 = Type::integer(4, false), u64 = Type::integer(8, false);
  const Type chr = Type::integer(1, true), str = Type::string();
  static const std::vector<ProcMember> ps = {
      {"pr_flag", K::no_conversion, F::zero, i32},      {"pr_nlwp", K::value, F::nlwp, i32},
      {"pr_pid", K::value, F::pid, i32},                {"pr_ppid", K::value, F::ppid, i32},
      {"pr_pgid", K::value, F::pgid, i32},              {"pr_sid", K::value, F::sid, i32},
      {"pr_uid", K::value, F::uid, u32},                {"pr_euid", K::value, F::euid, u32},
      {"pr_gid", K::value, F::gid, u32},                {"pr_egid", K::value, F::egid, u32},
      {"pr_addr", K::kernel_address, F::zero, u64},     {"pr_size", K::no_conversion, F::zero, u64},
      {"pr_rssize", K::no_conversion, F::zero, u64},    {"pr_pad1", K::no_conversion, F::zero, u64},
      {"pr_ttydev", K::kernel_address, F::zero, u64},   {"pr_pctcpu", K::no_conversion, F::zero, i32},
      {"pr_pctmem", K::no_conversion, F::zero, i32},    {"pr_start", K::no_conversion, F::zero, i32},
      {"pr_time", K::no_conversion, F::zero, i32},      {"pr_ctime", K::no_conversion, F::zero, i32},
      {"pr_fname", K::value, F::fname, str, 16},            {"pr_psargs", K::value, F::psargs, str, 80},
      {"pr_wstat", K::value, F::zero, i32},             {"pr_argc", K::value, F::argc, i32},
      {"pr_argv", K::value, F::argv, u64},              {"pr_envp", K::value, F::envp, u64},
      {"pr_dmodel", K::value, F::dmodel, chr},          {"pr_pad2", K::no_conversion, F::zero, i32},
      {"pr_taskid", K::value, F::zero, i32},            {"pr_projid", K::value, F::zero, i32},
      {"pr_nzomb", K::value, F::zero, i32},             {"pr_poolid", K::value, F::zero, i32},
      {"pr_zoneid", K::value, F::zero, i32},            {"pr_contract", K::value, F::zero, i32},
      {"pr_filler", K::no_conversion, F::zero, i32},    {"pr_lwp", K::no_conversion, F::zero, i32},
  };
  static const std::vector<ProcMember> lwps = {
      {"pr_flag", K::value, F::flag, i32},              {"pr_lwpid", K::value, F::lwpid, i32},
      {"pr_addr", K::kernel_address, F::zero, u64},     {"pr_wchan", K::value, F::zero, u64},
      {"pr_stype", K::value, F::zero, chr},             {"pr_state", K::value, F::state, chr},
      {"pr_sname", K::value, F::sname, chr},            {"pr_nice", K::no_conversion, F::zero, chr},
      {"pr_syscall", K::no_conversion, F::zero, i32},   {"pr_oldpri", K::no_conversion, F::zero, chr},
      {"pr_cpu", K::no_conversion, F::zero, chr},       {"pr_pri", K::value, F::pri, i32},
      {"pr_pctcpu", K::no_conversion, F::zero, i32},    {"pr_pad", K::no_conversion, F::zero, i32},
      {"pr_start", K::no_conversion, F::zero, i32},     {"pr_time", K::no_conversion, F::zero, i32},
      {"pr_clname", K::no_conversion, F::zero, str, 8},    {"pr_name", K::value, F::name, str, 16},
      {"pr_onpro", K::value, F::onpro, i32},            {"pr_bindpro", K::no_conversion, F::zero, i32},
      {"pr_bindpset", K::no_conversion, F::zero, i32},  {"pr_lgrp", K::no_conversion, F::zero, i32},
      {"pr_filler", K::no_conversion, F::zero, i32},
  };
  for (const auto& m : lwp ? lwps : ps)
    if (m.name == name) return &m;
  return nullptr;
}

namespace {

const std::vector<FnInfo>& fns() {
  static const std::vector<FnInfo> table = {
      {"trace", Fn::trace, 1, 1, true, false, true},
      {"printf", Fn::printf, 1, -1, true, false, true},
      {"printa", Fn::printa, 1, -1, true, false, true},
      {"exit", Fn::exit, 1, 1, true, false, false},
      {"clear", Fn::clear, 1, 1, true, false, false},
      {"trunc", Fn::trunc, 1, 2, true, false, false},
      {"normalize", Fn::normalize, 2, 2, true, false, false},
      {"denormalize", Fn::denormalize, 1, 1, true, false, false},
      {"setopt", Fn::setopt, 1, 2, true, false, false},
      {"speculate", Fn::speculate, 1, 1, true, false, false},
      {"commit", Fn::commit, 1, 1, true, false, false},
      {"discard", Fn::discard, 1, 1, true, false, false},
      {"stop", Fn::stop, 0, 0, true, true, false},
      {"raise", Fn::raise, 1, 1, true, true, false},
      {"system", Fn::system, 1, -1, true, true, false},
      {"copyout", Fn::copyout, 3, 3, true, true, false},
      {"copyoutstr", Fn::copyoutstr, 3, 3, true, true, false},
      {"override", Fn::override, 1, 1, true, true, false},
      {"tracemem", Fn::tracemem, 2, 3, true, false, true},
      {"chill", Fn::chill, 1, 1, true, true, false},
      {"freopen", Fn::freopen, 1, -1, true, true, false},
      {"ftruncate", Fn::ftruncate, 0, 0, true, false, false},
      {"copyinto", Fn::copyinto, 3, 3, true, false, false},
      {"print", Fn::print, 1, 1, true, false, true},
      {"bcopy", Fn::bcopy, 3, 3, true, false, false},
      {"panic", Fn::panic, 0, 0, true, true, false},
      {"breakpoint", Fn::breakpoint, 0, 0, true, true, false},
      {"ustack", Fn::ustack, 0, 2, false, false, true},
      {"copyin", Fn::copyin, 2, 2, false, false, false},
      {"copyinstr", Fn::copyinstr, 1, 2, false, false, false},
      {"strlen", Fn::strlen, 1, 1, false, false, false},
      {"strjoin", Fn::strjoin, 2, 2, false, false, false},
      {"substr", Fn::substr, 2, 3, false, false, false},
      {"index", Fn::index, 2, 3, false, false, false},
      {"rindex", Fn::rindex, 2, 3, false, false, false},
      {"strtok", Fn::strtok, 2, 2, false, false, false},
      {"strstr", Fn::strstr, 2, 2, false, false, false},
      {"basename", Fn::basename, 1, 1, false, false, false},
      {"dirname", Fn::dirname, 1, 1, false, false, false},
      {"ufunc", Fn::ufunc, 1, 1, false, false, true},
      {"usym", Fn::usym, 1, 1, false, false, true},
      {"umod", Fn::umod, 1, 1, false, false, true},
      {"uaddr", Fn::uaddr, 1, 1, false, false, true},
      {"speculation", Fn::speculation, 0, 0, false, false, false},
      {"rand", Fn::rand, 0, 0, false, false, false},
      {"lltostr", Fn::lltostr, 1, 2, false, false, false},
      {"toupper", Fn::toupper, 1, 1, false, false, false},
      {"tolower", Fn::tolower, 1, 1, false, false, false},
      {"progenyof", Fn::progenyof, 1, 1, false, false, false},
      {"strchr", Fn::strchr, 2, 2, false, false, false},
      {"strrchr", Fn::strrchr, 2, 2, false, false, false},
      {"htons", Fn::htons, 1, 1, false, false, false},
      {"htonl", Fn::htonl, 1, 1, false, false, false},
      {"htonll", Fn::htonll, 1, 1, false, false, false},
      {"ntohs", Fn::ntohs, 1, 1, false, false, false},
      {"ntohl", Fn::ntohl, 1, 1, false, false, false},
      {"ntohll", Fn::ntohll, 1, 1, false, false, false},
      {"inet_ntoa", Fn::inet_ntoa, 1, 1, false, false, false},
      {"inet_ntoa6", Fn::inet_ntoa6, 1, 2, false, false, false},
      {"link_ntop", Fn::link_ntop, 2, 2, false, false, false},
      {"cleanpath", Fn::cleanpath, 1, 1, false, false, false},
      {"getmajor", Fn::getmajor, 1, 1, false, false, false},
      {"getminor", Fn::getminor, 1, 1, false, false, false},
      // dtrace's kernel-symbol functions (DT_ACT_SYM, DT_ACT_MOD): func() is
      // sym(). probekit's addresses are the target's, so they are usym()
      // and umod().
      {"sym", Fn::usym, 1, 1, false, false, true},
      {"func", Fn::usym, 1, 1, false, false, true},
      {"mod", Fn::umod, 1, 1, false, false, true},
      {"inet_ntop", Fn::inet_ntop, 2, 2, false, false, false},
      {"alloca", Fn::alloca, 1, 1, false, false, false},
      {"stack", Fn::stack, 0, 1, false, false, true},
  };
  return table;
}

const std::vector<AggFnInfo>& agg_fns() {
  static const std::vector<AggFnInfo> table = {
      {"count", AggFn::count, 0, 0},         {"sum", AggFn::sum, 1, 1},
      {"avg", AggFn::avg, 1, 1},             {"min", AggFn::min, 1, 1},
      {"max", AggFn::max, 1, 1},             {"stddev", AggFn::stddev, 1, 1},
      {"quantize", AggFn::quantize, 1, 2},   {"lquantize", AggFn::lquantize, 3, 5},
      {"llquantize", AggFn::llquantize, 5, 6},
  };
  return table;
}

struct Reg {
  std::string_view name;
  int index;
};

// user_regs_struct order: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx
// rsi rdi orig_rax rip cs eflags rsp ss fs_base gs_base ds es fs gs.
const std::vector<Reg>& regs() {
  static const std::vector<Reg> table = {
      {"R_R15", 0},  {"R_R14", 1},  {"R_R13", 2},  {"R_R12", 3},   {"R_RBP", 4},  {"R_FP", 4},
      {"R_RBX", 5},  {"R_R11", 6},  {"R_R10", 7},  {"R_R9", 8},    {"R_R8", 9},   {"R_RAX", 10},
      {"R_R0", 10},  {"R_RCX", 11}, {"R_RDX", 12}, {"R_R1", 5},    {"R_RSI", 13}, {"R_RDI", 14},
      {"R_RIP", 16}, {"R_PC", 16}, {"R_CS", 17},  {"R_RFL", 18}, {"R_PS", 18},
      {"R_RSP", 19}, {"R_SP", 19},  {"R_SS", 20},
      {"R_DS", 21},  {"R_ES", 22},  {"R_FS", 23},  {"R_GS", 24},  {"R_TRAPNO", 25},
      {"R_FSBASE", 26}, {"R_GSBASE", 27},
      // dtrace's x86-64 regs.d also has these: R_ERR (orig_rax's slot) and
      // the 32-bit names of the 64-bit registers (R_R1 is R_EBX there).
      {"R_ERR", 15}, {"R_EAX", 10}, {"R_EBX", 5}, {"R_ECX", 11}, {"R_EDX", 12}, {"R_ESI", 13},
      {"R_EDI", 14}, {"R_EBP", 4}, {"R_EIP", 16}, {"R_EFL", 18}, {"R_ESP", 19},
      {"R_XMM0", 64},  {"R_XMM1", 65},  {"R_XMM2", 66},  {"R_XMM3", 67},  {"R_XMM4", 68},
      {"R_XMM5", 69},  {"R_XMM6", 70},  {"R_XMM7", 71},  {"R_XMM8", 72},  {"R_XMM9", 73},
      {"R_XMM10", 74}, {"R_XMM11", 75}, {"R_XMM12", 76}, {"R_XMM13", 77}, {"R_XMM14", 78},
      {"R_XMM15", 79},
  };
  return table;
}

}  // namespace

int uregs_word(int n) {
  // user_regs_struct: ... ss (20) fs_base gs_base ds es fs gs (26).
  switch (n) {
  case 21: return 23;  // R_DS
  case 22: return 24;  // R_ES
  case 23: return 25;  // R_FS
  case 24: return 26;  // R_GS
  case 25: return 15;  // R_TRAPNO: Linux keeps none; orig_rax's slot, as R_ERR
  case 26: return 21;  // R_FSBASE
  case 27: return 22;  // R_GSBASE
  default: return n;
  }
}

const VarInfo* find_var(std::string_view name) {
  for (const auto& v : vars())
    if (v.name == name) return &v;
  return nullptr;
}

std::vector<std::string> var_names() {
  std::vector<std::string> out;
  for (const auto& v : vars()) out.emplace_back(v.name);
  return out;
}

std::optional<int> find_constant(std::string_view name) {
#define PK_C(x) {#x, x}
  static const std::vector<std::pair<std::string_view, int>> table = {
      PK_C(SIGHUP),  PK_C(SIGINT),    PK_C(SIGQUIT),  PK_C(SIGILL),    PK_C(SIGTRAP),   PK_C(SIGABRT),
      PK_C(SIGBUS),  PK_C(SIGFPE),    PK_C(SIGKILL),  PK_C(SIGUSR1),   PK_C(SIGSEGV),   PK_C(SIGUSR2),
      PK_C(SIGPIPE), PK_C(SIGALRM),   PK_C(SIGTERM),  PK_C(SIGSTKFLT), PK_C(SIGCHLD),   PK_C(SIGCONT),
      PK_C(SIGSTOP), PK_C(SIGTSTP),   PK_C(SIGTTIN),  PK_C(SIGTTOU),   PK_C(SIGURG),    PK_C(SIGXCPU),
      PK_C(SIGXFSZ), PK_C(SIGVTALRM), PK_C(SIGPROF),  PK_C(SIGWINCH),  PK_C(SIGIO),     PK_C(SIGPOLL),
      PK_C(SIGPWR),  PK_C(SIGSYS),    {"SIGRTMIN", 34}, {"SIGRTMAX", 64},
      PK_C(EPERM),   PK_C(ENOENT),    PK_C(ESRCH),    PK_C(EINTR),     PK_C(EIO),       PK_C(ENXIO),
      PK_C(E2BIG),   PK_C(ENOEXEC),   PK_C(EBADF),    PK_C(ECHILD),    PK_C(EAGAIN),    PK_C(ENOMEM),
      PK_C(EACCES),  PK_C(EFAULT),    PK_C(EBUSY),    PK_C(EEXIST),    PK_C(EXDEV),     PK_C(ENODEV),
      PK_C(ENOTDIR), PK_C(EISDIR),    PK_C(EINVAL),   PK_C(ENFILE),    PK_C(EMFILE),    PK_C(ENOTTY),
      PK_C(EFBIG),   PK_C(ENOSPC),    PK_C(ESPIPE),   PK_C(EROFS),     PK_C(EMLINK),    PK_C(EPIPE),
      PK_C(EDOM),    PK_C(ERANGE),    PK_C(EDEADLK),  PK_C(ENAMETOOLONG), PK_C(ENOSYS), PK_C(ENOTEMPTY),
      PK_C(ELOOP),   PK_C(EWOULDBLOCK), PK_C(ENOTSOCK), PK_C(EADDRINUSE), PK_C(ECONNREFUSED),
      PK_C(ECONNRESET), PK_C(ETIMEDOUT), PK_C(EINPROGRESS), PK_C(EALREADY), PK_C(ENOTCONN),
      PK_C(EOVERFLOW), PK_C(ECANCELED), PK_C(EOPNOTSUPP), PK_C(EHWPOISON),
      // DTrace's fault codes (ERROR's arg4), <dtrace/faults_defines.h>.
      {"DTRACEFLT_UNKNOWN", 0}, {"DTRACEFLT_BADADDR", 1}, {"DTRACEFLT_BADALIGN", 2},
      {"DTRACEFLT_ILLOP", 3}, {"DTRACEFLT_DIVZERO", 4}, {"DTRACEFLT_NOSCRATCH", 5},
      {"DTRACEFLT_KPRIV", 6}, {"DTRACEFLT_UPRIV", 7}, {"DTRACEFLT_TUPOFLOW", 8},
      {"DTRACEFLT_BADSTACK", 9}, {"DTRACEFLT_BADSIZE", 10}, {"DTRACEFLT_BADINDEX", 11},
      {"DTRACEFLT_LIBRARY", 1000},
      // <netinet/in.h>'s address families, for inet_ntop().
      {"AF_INET", 2}, {"AF_INET6", 10},
      // <linux/if_arp.h>'s hardware types link_ntop() formats (dtrace's net.d).
      {"ARPHRD_ETHER", 1}, {"ARPHRD_INFINIBAND", 32},
      // pcap()'s protocols: libpcap's link types (<pcap/dlt.h>: DLT_NULL,
      // DLT_EN10MB, DLT_PPP, DLT_RAW for an IPv4 or IPv6 header,
      // DLT_IEEE802_11, DLT_IPOIB), as dtrace's pcap.d names them.
      {"PCAP_NULL", 0}, {"PCAP_ETHER", 1}, {"PCAP_PPP", 9}, {"PCAP_IP", 12}, {"PCAP_WIFI", 105},
      {"PCAP_IPOIB", 242},
  };
#undef PK_C
  for (const auto& [n, v] : table)
    if (n == name) return v;
  return std::nullopt;
}

std::optional<int> find_register(std::string_view name) {
  for (const auto& r : regs())
    if (r.name == name) return r.index;
  return std::nullopt;
}

const FnInfo* find_function(std::string_view name) {
  for (const auto& f : fns())
    if (f.name == name) return &f;
  return nullptr;
}

std::vector<std::string> function_names() {
  std::vector<std::string> out;
  for (const auto& f : fns()) out.emplace_back(f.name);
  for (const auto& f : agg_fns()) out.emplace_back(f.name);
  return out;
}

const AggFnInfo* find_agg_function(std::string_view name) {
  for (const auto& f : agg_fns())
    if (f.name == name) return &f;
  return nullptr;
}

}  // namespace probekit::d
