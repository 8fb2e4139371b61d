// The filter program, instruction by instruction and byte by byte, plus its
// meaning for every number (through a small classic-BPF interpreter) and the
// kernel's own verdict on a large program.
#include "syscall/seccomp_filter.h"

#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "syscall/syscall_table.h"

namespace probekit::syscalls {
namespace {

constexpr uint32_t kTrace = SECCOMP_RET_TRACE;
constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;

bool same(const sock_filter& a, const sock_filter& b) {
  return a.code == b.code && a.jt == b.jt && a.jf == b.jf && a.k == b.k;
}

std::string show(const sock_filter& f) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "{0x%02x, %u, %u, 0x%x}", f.code, f.jt, f.jf, f.k);
  return buf;
}

void expect_program(const std::vector<sock_filter>& got, const std::vector<sock_filter>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(same(got[i], want[i]))
        << "instruction " << i << ": " << show(got[i]) << " != " << show(want[i]);
  }
}

// The fixed prologue: arch check, x32 check.
std::vector<sock_filter> prologue() {
  return {
      {BPF_LD | BPF_W | BPF_ABS, 0, 0, 4},
      {BPF_JMP | BPF_JEQ | BPF_K, 1, 0, AUDIT_ARCH_X86_64},
      {BPF_RET | BPF_K, 0, 0, kAllow},
      {BPF_LD | BPF_W | BPF_ABS, 0, 0, 0},
      {BPF_JMP | BPF_JSET | BPF_K, 0, 1, 0x40000000},
      {BPF_RET | BPF_K, 0, 0, kAllow},
  };
}

std::vector<sock_filter> leaf(const std::vector<uint32_t>& nrs) {
  std::vector<sock_filter> out;
  for (uint32_t nr : nrs) {
    out.push_back({BPF_JMP | BPF_JEQ | BPF_K, 0, 1, nr});
    out.push_back({BPF_RET | BPF_K, 0, 0, kTrace | nr});
  }
  out.push_back({BPF_RET | BPF_K, 0, 0, kAllow});
  return out;
}

std::vector<sock_filter> concat(std::vector<std::vector<sock_filter>> parts) {
  std::vector<sock_filter> out;
  for (auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

struct RunResult {
  uint32_t action = 0;
  int executed = 0;
};

// Classic BPF over seccomp_data, for the instructions the builder emits.
// Fails the test on anything else or on a jump leaving the program.
RunResult run(const std::vector<sock_filter>& prog, uint32_t arch, uint32_t nr) {
  seccomp_data data{};
  data.nr = static_cast<int>(nr);
  data.arch = arch;
  uint32_t a = 0;
  size_t pc = 0;
  RunResult r;
  while (true) {
    if (pc >= prog.size()) {
      ADD_FAILURE() << "ran off the end of the program";
      return r;
    }
    const sock_filter& f = prog[pc];
    ++r.executed;
    switch (f.code) {
    case BPF_LD | BPF_W | BPF_ABS:
      std::memcpy(&a, reinterpret_cast<const char*>(&data) + f.k, 4);
      pc += 1;
      break;
    case BPF_JMP | BPF_JEQ | BPF_K:
      pc += 1 + (a == f.k ? f.jt : f.jf);
      break;
    case BPF_JMP | BPF_JGE | BPF_K:
      pc += 1 + (a >= f.k ? f.jt : f.jf);
      break;
    case BPF_JMP | BPF_JSET | BPF_K:
      pc += 1 + ((a & f.k) ? f.jt : f.jf);
      break;
    case BPF_JMP | BPF_JA:
      pc += 1 + f.k;
      break;
    case BPF_RET | BPF_K:
      r.action = f.k;
      return r;
    default:
      ADD_FAILURE() << "unexpected instruction " << show(f);
      return r;
    }
  }
}

TEST(SeccompFilter, OneCallExactProgram) {
  expect_program(build_trace_filter({__NR_getppid}), concat({prologue(), leaf({110})}));
}

TEST(SeccompFilter, SortsAndDeduplicatesIntoOneLeaf) {
  expect_program(build_trace_filter({3, 1, 0, 1, 3}), concat({prologue(), leaf({0, 1, 3})}));
  // Exactly kLeafSize numbers still make one leaf.
  expect_program(build_trace_filter({40, 10, 30, 20}),
                 concat({prologue(), leaf({10, 20, 30, 40})}));
}

TEST(SeccompFilter, DropsNumbersThatCannotReachTheTree) {
  expect_program(build_trace_filter({-1, 0x40000001, 2}), concat({prologue(), leaf({2})}));
}

TEST(SeccompFilter, FiveCallsSplitAtTheMedian) {
  // [1 2 | 3 4 5]: jge #3 falls into the upper leaf (7 instructions) or skips it.
  expect_program(
      build_trace_filter({5, 4, 3, 2, 1}),
      concat({prologue(), {{BPF_JMP | BPF_JGE | BPF_K, 0, 7, 3}}, leaf({3, 4, 5}), leaf({1, 2})}));
}

TEST(SeccompFilter, EmptyListAllowsEverything) {
  auto prog = build_trace_filter({});
  expect_program(prog, concat({prologue(), {{BPF_RET | BPF_K, 0, 0, kAllow}}}));
}

TEST(SeccompFilter, BytesAreTheKernelLayout) {
  std::vector<uint8_t> want = {
      0x20, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, // ld [4]          (arch)
      0x15, 0x00, 0x01, 0x00, 0x3e, 0x00, 0x00, 0xc0, // jeq #0xc000003e, 1, 0
      0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x7f, // ret #ALLOW
      0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // ld [0]          (nr)
      0x45, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x40, // jset #0x40000000, 0, 1
      0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x7f, // ret #ALLOW
      0x15, 0x00, 0x00, 0x01, 0x6e, 0x00, 0x00, 0x00, // jeq #110, 0, 1
      0x06, 0x00, 0x00, 0x00, 0x6e, 0x00, 0xf0, 0x7f, // ret #TRACE|110
      0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x7f, // ret #ALLOW
  };
  EXPECT_EQ(filter_bytes(build_trace_filter({__NR_getppid})), want);
}

TEST(SeccompFilter, EveryNumberGetsTheRightVerdict) {
  std::vector<std::vector<int>> lists = {{0}, {1, 2, 3, 4, 5}, {7, 9, 11, 500, 1000, 65535}};
  std::vector<int> many;
  for (int i = 0; i < 460; i += 3)
    many.push_back(i);
  lists.push_back(many);
  std::vector<int> all;
  for (const SyscallEntry& e : all_syscalls())
    all.push_back(e.nr);
  lists.push_back(all);

  for (const auto& list : lists) {
    auto prog = build_trace_filter(list);
    std::set<int> named(list.begin(), list.end());
    for (uint32_t nr = 0; nr < 1100; ++nr) {
      uint32_t want = named.count(static_cast<int>(nr)) ? (kTrace | nr) : kAllow;
      EXPECT_EQ(run(prog, AUDIT_ARCH_X86_64, nr).action, want) << "nr " << nr;
    }
    EXPECT_EQ(run(prog, AUDIT_ARCH_X86_64, 65535).action,
              named.count(65535) ? (kTrace | 65535) : kAllow);
    // Another architecture (int 0x80 from a 64-bit task) and x32 calls pass.
    EXPECT_EQ(run(prog, AUDIT_ARCH_I386, static_cast<uint32_t>(list[0])).action, kAllow);
    EXPECT_EQ(run(prog, AUDIT_ARCH_X86_64, 0x40000000u | static_cast<uint32_t>(list[0])).action,
              kAllow);
    EXPECT_EQ(run(prog, AUDIT_ARCH_X86_64, 0xffffffffu).action, kAllow); // syscall(-1)
  }
}

TEST(SeccompFilter, LongListsStayCheapAndUseLongJumps) {
  std::vector<int> all;
  for (const SyscallEntry& e : all_syscalls())
    all.push_back(e.nr);
  auto prog = build_trace_filter(all);
  EXPECT_LT(prog.size(), 1400u);
  EXPECT_TRUE(std::any_of(prog.begin(), prog.end(), [](const sock_filter& f) {
    return f.code == (BPF_JMP | BPF_JA);
  })) << "the root's upper half exceeds 255 instructions: expected a `ja`";
  // A linear list would execute ~2 * 370 instructions for the last number;
  // the tree executes prologue (5) + depth (<= 2 per level, 7 levels) + leaf.
  int worst = 0;
  for (uint32_t nr = 0; nr < 500; ++nr) {
    worst = std::max(worst, run(prog, AUDIT_ARCH_X86_64, nr).executed);
  }
  EXPECT_LE(worst, 5 + 2 * 7 + 2 * static_cast<int>(kLeafSize) + 1);
}

TEST(SeccompFilter, PrepareValidates) {
  auto empty = prepare({});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().kind(), ErrorKind::usage);
  EXPECT_EQ(empty.error().message(), "no system calls to trace: name at least one system call");

  auto bad = prepare({__NR_read, 400});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind(), ErrorKind::usage);
  EXPECT_EQ(bad.error().message(),
            "'400' is not an x86-64 system call number: use a number from asm/unistd_64.h");

  auto ok = prepare({__NR_write, __NR_read, __NR_write});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->nrs(), (std::vector<int>{0, 1}));
  expect_program(ok->program(), concat({prologue(), leaf({0, 1})}));
}

TEST(SeccompFilter, RemoteImageLayout) {
  auto f = prepare({__NR_getppid});
  ASSERT_TRUE(f);
  const uint64_t addr = 0x7f1234560000;
  std::vector<uint8_t> image = remote_image(*f, addr);
  std::vector<uint8_t> want = {
      0x09, 0x00,                                     // len = 9 instructions
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00,             // padding
      0x10, 0x00, 0x56, 0x34, 0x12, 0x7f, 0x00, 0x00, // filter = addr + 16
  };
  std::vector<uint8_t> body = filter_bytes(f->program());
  want.insert(want.end(), body.begin(), body.end());
  EXPECT_EQ(image, want);
  EXPECT_EQ(image.size(), kFprogSize + 9 * 8);
}

// The kernel's verifier accepts the long-jump form, and its verdicts match:
// with no tracer, RET_TRACE fails the call with ENOSYS; unnamed calls run.
TEST(SeccompFilter, KernelAppliesALargeTreeWithoutTracer) {
  // Left unnamed: what the child itself needs (and what a sanitizer runtime
  // may call when it reports), plus getegid as an unnamed probe.
  const std::set<int> keep = {
      __NR_getpid,    __NR_write,     __NR_exit_group,   __NR_exit,           __NR_rt_sigreturn,
      __NR_getegid,   __NR_mmap,      __NR_munmap,       __NR_mprotect,       __NR_madvise,
      __NR_mremap,    __NR_brk,       __NR_rt_sigaction, __NR_rt_sigprocmask, __NR_sigaltstack,
      __NR_gettid,    __NR_tgkill,    __NR_futex,        __NR_sched_yield,    __NR_prctl,
      __NR_prlimit64, __NR_getrlimit, __NR_openat,       __NR_close,          __NR_read,
      __NR_pread64,   __NR_readlink,  __NR_fstat,        __NR_newfstatat};
  std::vector<int> nrs;
  for (const SyscallEntry& e : all_syscalls()) {
    if (!keep.count(e.nr)) nrs.push_back(e.nr);
  }
  auto f = prepare(nrs);
  ASSERT_TRUE(f) << f.error().message();
  ASSERT_TRUE(std::any_of(f->program().begin(), f->program().end(),
                          [](const sock_filter& i) { return i.code == (BPF_JMP | BPF_JA); }));
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const long parent_egid = static_cast<long>(getegid());
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    long out[9] = {};
    out[0] = install_prepared(*f);
    const int probes[] = {__NR_getppid, __NR_getuid, __NR_ioctl, __NR_clone3};
    for (int i = 0; i < 4; ++i) {
      errno = 0;
      out[1 + 2 * i] = syscall(probes[i], -1, 0, 0);
      out[2 + 2 * i] = errno;
    }
    // getegid and getpid are not named: they run.
    long tail[2] = {syscall(__NR_getegid), syscall(__NR_getpid)};
    if (write(fds[1], out, sizeof out) != sizeof out) _exit(2);
    if (write(fds[1], tail, sizeof tail) != sizeof tail) _exit(2);
    _exit(0);
  }
  close(fds[1]);
  long out[9] = {};
  long tail[2] = {};
  ASSERT_EQ(read(fds[0], out, sizeof out), static_cast<ssize_t>(sizeof out));
  ASSERT_EQ(read(fds[0], tail, sizeof tail), static_cast<ssize_t>(sizeof tail));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(out[0], 0) << "install_prepared failed: " << std::strerror(static_cast<int>(out[0]));
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(out[1 + 2 * i], -1) << "probe " << i;
    EXPECT_EQ(out[2 + 2 * i], ENOSYS) << "probe " << i;
  }
  EXPECT_EQ(tail[0], parent_egid);
  EXPECT_EQ(tail[1], child);
}

} // namespace
} // namespace probekit::syscalls
