#include "proc/ptrace.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

#include "util/fd.h"
#include "util/strings.h"

namespace probekit::proc {

unsigned long trace_options() {
  return PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC |
         PTRACE_O_TRACESYSGOOD;
}

const char* to_string(StopKind kind) {
  switch (kind) {
    case StopKind::exited: return "exited";
    case StopKind::killed: return "killed";
    case StopKind::signal: return "signal";
    case StopKind::group_stop: return "group-stop";
    case StopKind::interrupt: return "interrupt";
    case StopKind::clone: return "clone";
    case StopKind::fork: return "fork";
    case StopKind::vfork: return "vfork";
    case StopKind::vfork_done: return "vfork-done";
    case StopKind::exec: return "exec";
    case StopKind::exit_event: return "exit-event";
    case StopKind::syscall: return "syscall";
    case StopKind::seccomp: return "seccomp";
    case StopKind::other: return "other";
  }
  return "?";
}

Stop classify(pid_t tid, int status) {
  Stop s;
  s.tid = tid;
  s.raw_status = status;
  if (WIFEXITED(status)) {
    s.kind = StopKind::exited;
    s.code = WEXITSTATUS(status);
    return s;
  }
  if (WIFSIGNALED(status)) {
    s.kind = StopKind::killed;
    s.signo = WTERMSIG(status);
    return s;
  }
  if (!WIFSTOPPED(status)) return s;
  s.signo = WSTOPSIG(status);
  int event = (status >> 16) & 0xff;
  auto msg = [&] {
    unsigned long m = 0;
    ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &m);
    return m;
  };
  switch (event) {
    case 0:
      s.kind = s.signo == (SIGTRAP | 0x80) ? StopKind::syscall : StopKind::signal;
      break;
    case PTRACE_EVENT_STOP:
      s.kind = (s.signo == SIGSTOP || s.signo == SIGTSTP || s.signo == SIGTTIN || s.signo == SIGTTOU)
                   ? StopKind::group_stop
                   : StopKind::interrupt;
      break;
    case PTRACE_EVENT_CLONE: s.kind = StopKind::clone; s.event_msg = msg(); break;
    case PTRACE_EVENT_FORK: s.kind = StopKind::fork; s.event_msg = msg(); break;
    case PTRACE_EVENT_VFORK: s.kind = StopKind::vfork; s.event_msg = msg(); break;
    case PTRACE_EVENT_VFORK_DONE: s.kind = StopKind::vfork_done; break;
    case PTRACE_EVENT_EXEC: s.kind = StopKind::exec; s.event_msg = msg(); break;
    case PTRACE_EVENT_EXIT: s.kind = StopKind::exit_event; s.event_msg = msg(); break;
    case PTRACE_EVENT_SECCOMP: s.kind = StopKind::seccomp; s.event_msg = msg(); break;
    default: s.kind = StopKind::other; break;
  }
  return s;
}

Result<std::optional<Stop>> wait_stop(bool block) {
  int status = 0;
  pid_t tid = ::waitpid(-1, &status, __WALL | (block ? 0 : WNOHANG));
  if (tid < 0) {
    if (errno == EINTR) return std::optional<Stop>();
    return Error::from_errno("waitpid", errno, errno == ECHILD ? ErrorKind::target_exited : ErrorKind::io);
  }
  if (tid == 0) return std::optional<Stop>();
  return std::optional<Stop>(classify(tid, status));
}

Result<Stop> wait_thread(pid_t tid) {
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(tid, &status, __WALL);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("waitpid " + std::to_string(tid), errno,
                               errno == ECHILD ? ErrorKind::no_such_process : ErrorKind::io);
    }
    return classify(r, status);
  }
}

namespace {

Status request(enum __ptrace_request req, const char* what, pid_t tid, void* addr, void* data) {
  if (ptrace(req, tid, addr, data) == -1) {
    int e = errno;
    return Error::from_errno(std::string(what) + " of thread " + std::to_string(tid), e,
                             e == ESRCH ? ErrorKind::no_such_process : ErrorKind::io);
  }
  return {};
}

void* sig_data(int signo) { return reinterpret_cast<void*>(static_cast<intptr_t>(signo)); }

}  // namespace

Status cont(pid_t tid, int signo) { return request(PTRACE_CONT, "PTRACE_CONT", tid, nullptr, sig_data(signo)); }
Status single_step(pid_t tid, int signo) {
  return request(PTRACE_SINGLESTEP, "PTRACE_SINGLESTEP", tid, nullptr, sig_data(signo));
}
Status resume_syscall(pid_t tid, int signo) {
  return request(PTRACE_SYSCALL, "PTRACE_SYSCALL", tid, nullptr, sig_data(signo));
}
Status listen(pid_t tid) { return request(PTRACE_LISTEN, "PTRACE_LISTEN", tid, nullptr, nullptr); }
Status interrupt(pid_t tid) { return request(PTRACE_INTERRUPT, "PTRACE_INTERRUPT", tid, nullptr, nullptr); }
Status detach(pid_t tid, int signo) { return request(PTRACE_DETACH, "PTRACE_DETACH", tid, nullptr, sig_data(signo)); }

Result<user_regs_struct> get_regs(pid_t tid) {
  user_regs_struct regs{};
  PK_TRY(request(PTRACE_GETREGS, "PTRACE_GETREGS", tid, nullptr, &regs));
  return regs;
}

Status set_regs(pid_t tid, const user_regs_struct& regs) {
  return request(PTRACE_SETREGS, "PTRACE_SETREGS", tid, nullptr, const_cast<user_regs_struct*>(&regs));
}

Result<user_fpregs_struct> get_fpregs(pid_t tid) {
  user_fpregs_struct fp{};
  PK_TRY(request(PTRACE_GETFPREGS, "PTRACE_GETFPREGS", tid, nullptr, &fp));
  return fp;
}

Result<SyscallInfo> get_syscall_info(pid_t tid) {
  __ptrace_syscall_info raw{};
  if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, reinterpret_cast<void*>(sizeof raw), &raw) == -1) {
    int e = errno;
    return Error::from_errno("PTRACE_GET_SYSCALL_INFO of thread " + std::to_string(tid), e,
                             e == ESRCH ? ErrorKind::no_such_process : ErrorKind::io);
  }
  SyscallInfo info;
  info.ip = raw.instruction_pointer;
  switch (raw.op) {
    case PTRACE_SYSCALL_INFO_ENTRY:
      info.op = SyscallInfo::Op::entry;
      info.nr = static_cast<int>(raw.entry.nr);
      for (int i = 0; i < 6; ++i) info.args[i] = raw.entry.args[i];
      break;
    case PTRACE_SYSCALL_INFO_SECCOMP:
      info.op = SyscallInfo::Op::seccomp;
      info.nr = static_cast<int>(raw.seccomp.nr);
      for (int i = 0; i < 6; ++i) info.args[i] = raw.seccomp.args[i];
      break;
    case PTRACE_SYSCALL_INFO_EXIT:
      info.op = SyscallInfo::Op::exit;
      info.rval = raw.exit.rval;
      info.is_error = raw.exit.is_error != 0;
      break;
    default: break;
  }
  return info;
}

Result<siginfo_t> get_siginfo(pid_t tid) {
  siginfo_t si{};
  PK_TRY(request(PTRACE_GETSIGINFO, "PTRACE_GETSIGINFO", tid, nullptr, &si));
  return si;
}

std::optional<std::string> status_field(pid_t tid, const std::string& field) {
  auto text = read_file("/proc/" + std::to_string(tid) + "/status");
  if (!text) return std::nullopt;
  for (const auto& line : split(*text, '\n')) {
    if (starts_with(line, field + ":")) return std::string(trim(std::string_view(line).substr(field.size() + 1)));
  }
  return std::nullopt;
}

namespace {

// Why PTRACE_SEIZE said EPERM, in words a user can act on.
std::string explain_eperm(pid_t tid) {
  // Reasons that are certain come alone: the guesses below do not apply.
  auto tgid = status_field(tid, "Tgid");
  if (tgid && *tgid == std::to_string(::getpid())) return "it is probekit itself; probekit cannot trace itself";
  auto state = status_field(tid, "State");
  auto threads = status_field(tid, "Threads");
  if (state && starts_with(*state, "Z") && (!threads || *threads == "1")) {
    return "it is a zombie: it has exited and waits for its parent to reap it";
  }
  std::vector<std::string> why;
  auto tracer = status_field(tid, "TracerPid");
  if (tracer && *tracer != "0") {
    why.push_back("it is already traced by process " + *tracer + " (a debugger or another tracer)");
  }
  auto uid = status_field(tid, "Uid");
  if (uid) {
    auto ids = split_ws(*uid);
    if (!ids.empty() && ids[0] != std::to_string(::getuid())) {
      why.push_back("it runs as uid " + ids[0] + ", not as your uid " + std::to_string(::getuid()) +
                    " (run as that user or with CAP_SYS_PTRACE)");
    }
  }
  auto scope = read_file("/proc/sys/kernel/yama/ptrace_scope");
  if (scope) {
    std::string v(trim(*scope));
    if (v == "1") {
      why.push_back("kernel.yama.ptrace_scope is 1: only descendants can be traced "
                    "(try 'sudo sysctl kernel.yama.ptrace_scope=0' or run with CAP_SYS_PTRACE)");
    } else if (v == "2") {
      why.push_back("kernel.yama.ptrace_scope is 2: tracing needs CAP_SYS_PTRACE");
    } else if (v == "3") {
      why.push_back("kernel.yama.ptrace_scope is 3: tracing is disabled until reboot");
    }
  }
  if (why.empty()) {
    why.push_back("it may be non-dumpable (setuid, or prctl(PR_SET_DUMPABLE, 0)); tracing it needs CAP_SYS_PTRACE");
  }
  return join(why, "; ");
}

}  // namespace

Status seize(pid_t tid, unsigned long extra_options) {
  if (ptrace(PTRACE_SEIZE, tid, nullptr, reinterpret_cast<void*>(trace_options() | extra_options)) == -1) {
    int e = errno;
    if (e == ESRCH) {
      return Error::from_errno("cannot attach to process " + std::to_string(tid) + ": no such process", e,
                               ErrorKind::no_such_process);
    }
    if (e == EPERM) {
      return Error("cannot attach to process " + std::to_string(tid) + ": " + std::strerror(e) + ": " +
                       explain_eperm(tid),
                   ErrorKind::permission, e);
    }
    return Error::from_errno("cannot attach to process " + std::to_string(tid), e, ErrorKind::io);
  }
  return {};
}

std::vector<pid_t> list_threads(pid_t pid) {
  std::vector<pid_t> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    if (auto v = parse_int(e->d_name)) out.push_back(static_cast<pid_t>(*v));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<pid_t>> seize_all(pid_t pid) {
  if (::kill(pid, 0) == -1 && errno == ESRCH) {
    return Error("cannot attach to process " + std::to_string(pid) + ": no such process",
                 ErrorKind::no_such_process, ESRCH);
  }
  auto tgid = status_field(pid, "Tgid");
  if (tgid && *tgid != std::to_string(pid)) {
    return Error("cannot attach to " + std::to_string(pid) + ": it is a thread of process " + *tgid +
                     "; give the process id",
                 ErrorKind::usage);
  }
  std::set<pid_t> seized;
  for (;;) {
    bool added = false;
    for (pid_t tid : list_threads(pid)) {
      if (seized.count(tid)) continue;
      auto st = seize(tid);
      if (!st) {
        if (st.error().kind() == ErrorKind::no_such_process && tid != pid) continue;  // thread exited
        // Undo what we did so the process is left as we found it.
        for (pid_t t : seized) ptrace(PTRACE_DETACH, t, nullptr, nullptr);
        return st.error();
      }
      ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);
      seized.insert(tid);
      added = true;
    }
    if (!added) break;
  }
  return std::vector<pid_t>(seized.begin(), seized.end());
}

Result<pid_t> launch_stopped(const LaunchSpec& spec) {
  if (spec.argv.empty()) return Error("no command to run", ErrorKind::usage);
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int go[2];
  int err[2];
  if (::pipe2(go, O_CLOEXEC) == -1) return Error::from_errno("pipe", errno);
  if (::pipe2(err, O_CLOEXEC) == -1) {
    ::close(go[0]);
    ::close(go[1]);
    return Error::from_errno("pipe", errno);
  }
  pid_t pid = ::fork();
  if (pid < 0) return Error::from_errno("fork", errno);
  if (pid == 0) {
    // Child: only async-signal-safe calls from here on.
    ::close(go[1]);
    ::close(err[0]);
    char c;
    while (::read(go[0], &c, 1) == -1 && errno == EINTR) {
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int e = 0;
    if (!spec.stdin_path.empty()) {
      int fd = ::open(spec.stdin_path.c_str(), O_RDONLY);
      if (fd < 0 || ::dup2(fd, 0) < 0) e = errno;
    }
    if (e == 0 && !spec.stdout_path.empty()) {
      int fd = ::open(spec.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0 || ::dup2(fd, 1) < 0) e = errno;
    }
    int stage = 0;  // 0: redirection or exec, 1: before_exec
    if (e == 0 && spec.before_exec) {
      e = spec.before_exec(spec.before_exec_arg);
      if (e != 0) stage = 1;
    }
    if (e == 0) {
      ::execvp(argv[0], argv.data());
      e = errno;
    }
    int report[2] = {e, stage};
    ssize_t w = ::write(err[1], report, sizeof report);
    (void)w;
    ::_exit(127);
  }
  ::close(go[0]);
  ::close(err[1]);
  Fd go_w(go[1]);
  Fd err_r(err[0]);
  auto seized = seize(pid, spec.extra_options);
  if (!seized) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return seized.error();
  }
  char c = 'g';
  if (::write(go_w.get(), &c, 1) != 1) return Error::from_errno("pipe write", errno);
  go_w.reset();
  for (;;) {
    auto stop = wait_thread(pid);
    if (!stop) return stop.error();
    if (stop->kind == StopKind::exec) return pid;
    if (stop->kind == StopKind::exited || stop->kind == StopKind::killed) {
      int report[2] = {0, 0};
      ssize_t n = ::read(err_r.get(), report, sizeof report);
      int e = report[0];
      if (n == sizeof report && e != 0 && report[1] == 1) {
        return Error(std::string(spec.before_exec_what) + " for '" + spec.argv[0] + "': " + std::strerror(e),
                     ErrorKind::io, e);
      }
      if (n == sizeof report && e != 0) {
        return Error("cannot run '" + spec.argv[0] + "': " + std::strerror(e) +
                         (spec.stdin_path.empty() && spec.stdout_path.empty()
                              ? ""
                              : " (or cannot open its stdin/stdout redirection)"),
                     ErrorKind::usage, e);
      }
      return Error("'" + spec.argv[0] + "' exited before it started", ErrorKind::target_exited);
    }
    // Anything else before exec (a signal to the waiting child): pass it on.
    int sig = stop->kind == StopKind::signal ? stop->signo : 0;
    if (stop->kind == StopKind::group_stop) {
      (void)listen(pid);
    } else {
      (void)cont(pid, sig);
    }
  }
}

Result<int64_t> remote_syscall(pid_t tid, uint64_t syscall_insn, const SyscallArgs& call,
                               std::vector<int>* held, const KeepRegs& keep) {
  auto saved = get_regs(tid);
  if (!saved) return saved.error();
  if (keep) keep(&*saved);
  struct Forget {
    const KeepRegs& keep;
    ~Forget() {
      if (keep) keep(nullptr);
    }
  } forget{keep};
  // Fault injection for tests (tests/runtime/survival_cli_test.cpp):
  // probekit stops itself in the middle of a kept call, before the step or
  // after it, for the test to kill it there.
  const char* freeze = keep ? std::getenv("PROBEKIT_TEST_FREEZE_REMOTE_SYSCALL") : nullptr;
  auto freeze_at = [freeze](const char* where) {
    if (freeze && std::strcmp(freeze, where) == 0) ::raise(SIGSTOP);
  };
  user_regs_struct r = *saved;
  // orig_rax = -1: if the thread sits in an interrupted syscall, the kernel
  // must not apply restart logic (rip -= 2) to our injected call.
  r.orig_rax = static_cast<uint64_t>(-1);
  r.rip = syscall_insn;
  r.rax = static_cast<uint64_t>(call.nr);
  r.rdi = call.args[0];
  r.rsi = call.args[1];
  r.rdx = call.args[2];
  r.r10 = call.args[3];
  r.r8 = call.args[4];
  r.r9 = call.args[5];
  for (int attempt = 0; attempt < 64; ++attempt) {
    // Set the registers on every attempt: when the thread was stopped inside
    // a system call (an exec event, an interrupted read), the first resume
    // finishes that call first, writing its return value into rax and
    // reporting a step trap before our instruction ran.
    PK_TRY(set_regs(tid, r));
    freeze_at("before-step");
    PK_TRY(single_step(tid));
    auto stop = wait_thread(tid);
    if (!stop) return stop.error();
    freeze_at("after-step");
    if (stop->kind == StopKind::exited || stop->kind == StopKind::killed) {
      return Error("thread " + std::to_string(tid) + " died during a remote system call",
                   ErrorKind::target_exited);
    }
    if (stop->kind == StopKind::signal && stop->signo != SIGTRAP) {
      // A signal was about to be delivered before our syscall ran: keep it.
      if (held) held->push_back(stop->signo);
      continue;
    }
    auto after = get_regs(tid);
    if (!after) return after.error();
    if (after->rip == syscall_insn) continue;  // not executed yet (e.g. an interrupt stop)
    int64_t ret = static_cast<int64_t>(after->rax);
    PK_TRY(set_regs(tid, *saved));
    return ret;
  }
  (void)set_regs(tid, *saved);
  return Error("remote system call in thread " + std::to_string(tid) + " did not complete", ErrorKind::internal);
}

Result<uint64_t> find_syscall_insn(const ProcessMemory& mem, const std::vector<MapEntry>& maps) {
  // Prefer the vDSO (small, always there), then any other r-x mapping.
  std::vector<const MapEntry*> order;
  for (const auto& m : maps) {
    if (m.executable() && m.path == "[vdso]") order.push_back(&m);
  }
  for (const auto& m : maps) {
    if (m.executable() && m.path != "[vdso]" && m.path != "[vsyscall]") order.push_back(&m);
  }
  std::vector<uint8_t> buf;
  for (const MapEntry* m : order) {
    size_t len = std::min<uint64_t>(m->end - m->start, 1 << 20);
    buf.resize(len);
    auto n = mem.read(m->start, buf.data(), len);
    if (!n || *n < 2) continue;
    for (size_t i = 0; i + 1 < *n; ++i) {
      if (buf[i] == 0x0f && buf[i + 1] == 0x05) return m->start + i;
    }
  }
  return Error("no syscall instruction found in the target's executable mappings", ErrorKind::internal);
}

}  // namespace probekit::proc
