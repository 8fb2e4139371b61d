// proc layer: launch, memory, maps, remote syscalls, attach/detach, threads,
// signal delivery — against real processes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "proc/maps.h"
#include "proc/memory.h"
#include "proc/ptrace.h"
#include "util/fd.h"

namespace probekit::proc {
namespace {

std::string target(const std::string& name) { return std::string(PK_TARGETS_DIR) + "/" + name; }

std::string temp_path(const std::string& tag) {
  return "/tmp/pk_proc_test_" + tag + "_" + std::to_string(::getpid());
}

// Resumes every stop until pid exits; returns its exit code. Signals are
// delivered as they arrive (in order), recorded in *signals.
int run_to_exit(pid_t pid, std::vector<int>* signals = nullptr) {
  for (;;) {
    auto st = wait_stop();
    if (!st) return -1000;
    if (!st->has_value()) continue;
    Stop s = **st;
    if ((s.kind == StopKind::exited || s.kind == StopKind::killed)) {
      if (s.tid == pid) return s.kind == StopKind::exited ? s.code : 128 + s.signo;
      continue;
    }
    if (s.kind == StopKind::signal) {
      if (signals) signals->push_back(s.signo);
      (void)cont(s.tid, s.signo);
    } else if (s.kind == StopKind::group_stop) {
      (void)listen(s.tid);
    } else {
      (void)cont(s.tid);
    }
  }
}

TEST(Maps, ParsesLinesWithAndWithoutPaths) {
  auto maps = parse_maps(
      "55d0c0a00000-55d0c0a01000 r--p 00000000 fd:01 1234   /usr/bin/my prog\n"
      "7ffd1000-7ffd3000 rw-p 00000000 00:00 0                          [stack]\n"
      "7f0000000000-7f0000001000 ---p 00001000 00:00 0\n");
  ASSERT_TRUE(maps.ok()) << maps.error().message();
  ASSERT_EQ(maps->size(), 3u);
  EXPECT_EQ((*maps)[0].start, 0x55d0c0a00000u);
  EXPECT_EQ((*maps)[0].end, 0x55d0c0a01000u);
  EXPECT_EQ((*maps)[0].perms, "r--p");
  EXPECT_EQ((*maps)[0].inode, 1234u);
  EXPECT_EQ((*maps)[0].dev, "fd:01");
  EXPECT_EQ((*maps)[0].path, "/usr/bin/my prog");
  EXPECT_EQ((*maps)[1].path, "[stack]");
  EXPECT_TRUE((*maps)[1].writable());
  EXPECT_FALSE((*maps)[1].executable());
  EXPECT_EQ((*maps)[2].offset, 0x1000u);
  EXPECT_EQ((*maps)[2].path, "");
  EXPECT_FALSE(parse_maps("zzz r-xp 0 0 0\n").ok());
}

TEST(Launch, StopsAtExecAndRunsToExit) {
  std::string out = temp_path("launch");
  auto pid = launch_stopped({{target("pk_basic-pie-O0"), "2", "5"}, "", out});
  ASSERT_TRUE(pid.ok()) << pid.error().message();
  // Stopped at exec: the executable is mapped; its ELF header is readable.
  auto maps = read_maps(*pid);
  ASSERT_TRUE(maps.ok());
  const MapEntry* exe = nullptr;
  for (const auto& m : *maps) {
    if (m.path.find("pk_basic-pie-O0") != std::string::npos && m.offset == 0) exe = &m;
  }
  ASSERT_NE(exe, nullptr);
  auto mem = ProcessMemory::open(*pid);
  ASSERT_TRUE(mem.ok());
  uint8_t magic[4];
  ASSERT_TRUE(mem->read_exact(exe->start, magic, 4).ok());
  EXPECT_EQ(std::memcmp(magic, "\x7f" "ELF", 4), 0);
  ASSERT_TRUE(cont(*pid).ok());
  EXPECT_EQ(run_to_exit(*pid), 0);
  auto text = read_file(out);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "threads 2 calls 5 total 50\n");
  ::unlink(out.c_str());
}

TEST(Launch, MissingProgramIsAClearError) {
  auto pid = launch_stopped({{"/nonexistent/program"}, "", ""});
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.error().kind(), ErrorKind::usage);
  EXPECT_NE(pid.error().message().find("No such file or directory"), std::string::npos)
      << pid.error().message();
}

TEST(Memory, WritesReadOnlyTextAndReadsBack) {
  auto pid = launch_stopped({{target("pk_basic-nopie-O0")}, "", "/dev/null"});
  ASSERT_TRUE(pid.ok());
  auto maps = read_maps(*pid);
  ASSERT_TRUE(maps.ok());
  uint64_t text = 0;
  for (const auto& m : *maps) {
    if (m.executable() && m.path.find("pk_basic") != std::string::npos) text = m.start;
  }
  ASSERT_NE(text, 0u);
  auto mem = ProcessMemory::open(*pid);
  ASSERT_TRUE(mem.ok());
  uint8_t orig[8], patched[8] = {0xcc, 0x90, 0xcc, 0x90, 1, 2, 3, 4}, back[8];
  ASSERT_TRUE(mem->read_exact(text, orig, 8).ok());
  ASSERT_TRUE(mem->write(text, patched, 8).ok());
  ASSERT_TRUE(mem->read_exact(text, back, 8).ok());
  EXPECT_EQ(std::memcmp(back, patched, 8), 0);
  ASSERT_TRUE(mem->write(text, orig, 8).ok());
  ASSERT_TRUE(mem->read_exact(text, back, 8).ok());
  EXPECT_EQ(std::memcmp(back, orig, 8), 0);
  // Unmapped memory: an error, not a crash.
  uint8_t b;
  auto bad = mem->read(8, &b, 1);
  EXPECT_TRUE(!bad.ok() || *bad == 0);
  EXPECT_FALSE(mem->read_exact(8, &b, 1).ok());
  ASSERT_TRUE(cont(*pid).ok());
  EXPECT_EQ(run_to_exit(*pid), 0);
}

TEST(RemoteSyscall, GetpidAndMmapInTheTarget) {
  auto pid = launch_stopped({{target("pk_basic-pie-O2")}, "", "/dev/null"});
  ASSERT_TRUE(pid.ok());
  auto mem = ProcessMemory::open(*pid);
  ASSERT_TRUE(mem.ok());
  auto maps = read_maps(*pid);
  ASSERT_TRUE(maps.ok());
  auto insn = find_syscall_insn(*mem, *maps);
  ASSERT_TRUE(insn.ok()) << insn.error().message();
  auto before = get_regs(*pid);
  ASSERT_TRUE(before.ok());

  auto r = remote_syscall(*pid, *insn, {SYS_getpid, {}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, *pid);

  SyscallArgs mm{SYS_mmap, {0, 8192, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                            static_cast<uint64_t>(-1), 0}};
  auto addr = remote_syscall(*pid, *insn, mm);
  ASSERT_TRUE(addr.ok());
  ASSERT_GT(*addr, 0);
  auto after_maps = read_maps(*pid);
  ASSERT_TRUE(after_maps.ok());
  bool found = false;
  for (const auto& m : *after_maps) {
    if (m.start <= static_cast<uint64_t>(*addr) && static_cast<uint64_t>(*addr) + 8192 <= m.end) {
      found = true;
      EXPECT_EQ(m.perms, "r-xp");
    }
  }
  EXPECT_TRUE(found);
  // The new mapping is not writable by the target but /proc/PID/mem writes it.
  uint8_t code[3] = {0x90, 0x90, 0xc3}, back[3];
  ASSERT_TRUE(mem->write(*addr, code, 3).ok());
  ASSERT_TRUE(mem->read_exact(*addr, back, 3).ok());
  EXPECT_EQ(std::memcmp(code, back, 3), 0);

  // Registers are restored exactly.
  auto after = get_regs(*pid);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(std::memcmp(&*before, &*after, sizeof(user_regs_struct)), 0);
  ASSERT_TRUE(cont(*pid).ok());
  EXPECT_EQ(run_to_exit(*pid), 0);
}

TEST(Threads, CloneEventsReportEveryThread) {
  auto pid = launch_stopped({{target("pk_basic-pie-O2"), "4", "10"}, "", "/dev/null"});
  ASSERT_TRUE(pid.ok());
  ASSERT_TRUE(cont(*pid).ok());
  std::set<pid_t> created, first_stops, exited;
  int exit_code = -1;
  for (;;) {
    auto st = wait_stop();
    ASSERT_TRUE(st.ok());
    if (!st->has_value()) continue;
    Stop s = **st;
    if (s.kind == StopKind::clone) {
      created.insert(static_cast<pid_t>(s.event_msg));
      (void)cont(s.tid);
    } else if (s.kind == StopKind::interrupt) {
      first_stops.insert(s.tid);  // an auto-attached thread's first stop
      (void)cont(s.tid);
    } else if (s.kind == StopKind::exited) {
      exited.insert(s.tid);
      if (s.tid == *pid) {
        exit_code = s.code;
        break;
      }
    } else {
      (void)cont(s.tid, s.kind == StopKind::signal ? s.signo : 0);
    }
  }
  EXPECT_EQ(exit_code, 0);
  EXPECT_EQ(created.size(), 4u);
  EXPECT_EQ(first_stops, created);
  for (pid_t t : created) EXPECT_TRUE(exited.count(t)) << t;
}

TEST(Signals, DeliveredOnceInOrder) {
  std::string out = temp_path("sig");
  auto pid = launch_stopped({{target("pk_signals-pie-O0"), "2", "50"}, "", out});
  ASSERT_TRUE(pid.ok());
  ASSERT_TRUE(cont(*pid).ok());
  std::vector<int> sigs;
  EXPECT_EQ(run_to_exit(*pid, &sigs), 0);
  // raise(SIGTRAP), int3, raise, int3 — and 50 queued real-time signals.
  std::vector<int> traps;
  int rt = 0;
  for (int s : sigs) {
    if (s == SIGTRAP) traps.push_back(s);
    if (s == SIGRTMIN + 1) rt++;
  }
  EXPECT_EQ(traps.size(), 4u);
  EXPECT_EQ(rt, 50);
  auto text = read_file(out);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "traps 4 storm 50/50\n");
  ::unlink(out.c_str());
}

TEST(Attach, SeizeAllThreadsThenDetachLeavesItRunning) {
  std::string out = temp_path("attach");
  pid_t child = ::fork();
  if (child == 0) {
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::execl(target("pk_spin-pie-O2").c_str(), "pk_spin", "3", (char*)nullptr);
    ::_exit(127);
  }
  // Wait until it has started its threads.
  for (int i = 0; i < 2000 && list_threads(child).size() < 4; ++i) ::usleep(1000);
  ASSERT_EQ(list_threads(child).size(), 4u);
  auto tids = seize_all(child);
  ASSERT_TRUE(tids.ok()) << tids.error().message();
  EXPECT_EQ(tids->size(), 4u);
  // Each thread reports its interrupt stop (possibly after a signal stop).
  std::set<pid_t> stopped;
  while (stopped.size() < tids->size()) {
    auto st = wait_stop();
    ASSERT_TRUE(st.ok());
    if (!st->has_value()) continue;
    if ((*st)->kind == StopKind::interrupt) stopped.insert((*st)->tid);
  }
  auto tracer = status_field(child, "TracerPid");
  ASSERT_TRUE(tracer.has_value());
  EXPECT_EQ(*tracer, std::to_string(::getpid()));
  for (pid_t t : *tids) EXPECT_TRUE(detach(t).ok());
  EXPECT_EQ(*status_field(child, "TracerPid"), "0");
  auto size_at_detach = read_file(out)->size();
  for (int i = 0; i < 5000 && read_file(out)->size() == size_at_detach; ++i) ::usleep(1000);
  EXPECT_GT(read_file(out)->size(), size_at_detach);  // still printing
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::unlink(out.c_str());
}

TEST(Attach, NoSuchProcess) {
  auto r = seize_all(999999999);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::no_such_process);
}

}  // namespace
}  // namespace probekit::proc
