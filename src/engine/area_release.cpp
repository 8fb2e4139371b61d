#include "engine/area_release.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

#include "proc/ptrace.h"
#include "util/strings.h"

namespace probekit::engine {

namespace {

constexpr size_t kMaxStackScan = 1 << 20;

// Whether [start, end) is covered by mappings that all satisfy ours().
bool covered(const std::vector<proc::MapEntry>& maps, uint64_t start, uint64_t end,
             const std::function<bool(const proc::MapEntry&)>& ours) {
  uint64_t at = start;
  for (const auto& m : maps) {  // sorted by address
    if (m.end <= at || m.start >= end) continue;
    if (m.start > at || !ours(m)) return false;
    at = m.end;
    if (at >= end) return true;
  }
  return false;
}

bool is_agent_memfd(const proc::MapEntry& m) { return m.path.rfind("/memfd:probekit-agent", 0) == 0; }
bool is_xol(const proc::MapEntry& m) { return m.path.empty() && m.inode == 0 && m.executable(); }
bool is_private_data(const proc::MapEntry& m) {
  return m.path.empty() && m.inode == 0 && m.writable() && !m.executable();
}

bool inside(const std::vector<AreaRange>& areas, uint64_t a) {
  return std::any_of(areas.begin(), areas.end(), [&](const AreaRange& r) { return r.contains(a); });
}

// The inverse of JumpBackend::moved_rip: the displaced instruction whose
// relocated copy starts at rip (0 when none does).
uint64_t original_of_copy(const AddressSpace& as, uint64_t rip) {
  for (const auto& [addr, js] : as.jump_sites()) {
    if (js->gone) continue;  // its module is gone: nothing to go back to
    for (const auto& [orig, copy] : js->copy_of) {
      if (copy == rip) return orig;
    }
  }
  return 0;
}

// The agents whose areas `as` may hold: its own, the one it inherited at
// a fork, and those of its jump sites (copied from a parent).
std::vector<Agent*> agents_of(const AddressSpace& as) {
  std::vector<Agent*> out;
  auto add = [&](Agent* a) {
    if (a && std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  };
  add(as.agent.get());
  add(as.inherited.get());
  for (const auto& [addr, js] : as.jump_sites()) add(js->agent.get());
  return out;
}

}  // namespace

std::vector<AreaRange> mapped_areas(const AddressSpace& as, const std::vector<proc::MapEntry>& maps) {
  std::vector<AreaRange> out;
  auto add = [&](uint64_t start, uint64_t size, bool (*ours)(const proc::MapEntry&)) {
    AreaRange r{start, start + size};
    if (!size || std::any_of(out.begin(), out.end(), [&](const AreaRange& o) { return o.start == r.start; })) return;
    if (covered(maps, r.start, r.end, ours)) out.push_back(r);
  };
  for (const XolArea& a : as.xol_areas()) add(a.start, a.size, is_xol);
  for (const Agent* agent : agents_of(as)) {
    for (auto [start, size] : agent->areas()) add(start, size, is_agent_memfd);
    for (auto [start, size] : agent->private_areas()) add(start, size, is_private_data);
  }
  return out;
}

Result<bool> give_back_sigtrap(const AddressSpace& as, const RemoteThread& remote,
                               const std::vector<AreaRange>& areas) {
  std::vector<Agent*> agents;  // those whose data area is mapped there
  for (Agent* a : agents_of(as)) {
    if (inside(areas, a->areas().front().first)) agents.push_back(a);
  }
  if (agents.empty()) return true;
  auto handler = agents.front()->sigtrap_handler(remote);
  if (!handler) return handler.error();
  for (size_t round = 0; round < agents.size(); ++round) {
    auto owner = std::find_if(agents.begin(), agents.end(), [&](Agent* a) { return a->sigtrap_entry() == *handler; });
    if (owner == agents.end()) break;
    PK_TRY((*owner)->give_back_sigtrap(remote));
    handler = (*owner)->sigtrap_handler(remote);
    if (!handler) return handler.error();
  }
  if (inside(areas, *handler)) return false;
  return std::any_of(agents.begin(), agents.end(), [&](Agent* a) { return a->replaced_sigtrap() == *handler; });
}

Result<bool> leave_areas(Thread& t, const AddressSpace& as, const std::vector<AreaRange>& areas) {
  for (int steps = 0;; ++steps) {
    auto regs = proc::get_regs(t.tid);
    if (!regs) return regs.error();
    if (!inside(areas, regs->rip)) return true;
    if (uint64_t orig = original_of_copy(as, regs->rip)) {
      regs->rip = orig;
      PK_TRY(proc::set_regs(t.tid, *regs));
      return true;
    }
    // A thread in a group-stop is not ours to step.
    if (steps >= kMaxLeaveSteps || t.resume == ResumeKind::listen) return false;
    PK_TRY(proc::single_step(t.tid));
    auto st = proc::wait_thread(t.tid);
    if (!st) return st.error();
    if (st->kind == proc::StopKind::exited || st->kind == proc::StopKind::killed) {
      return Error("thread " + std::to_string(t.tid) + " exited", ErrorKind::target_exited);
    }
    if (st->kind == proc::StopKind::signal && st->signo != SIGTRAP) t.held.push_back(st->signo);
  }
}

namespace {

// rt_sigreturn as every x86-64 libc's SA_RESTORER issues it (glibc's and
// musl's __restore_rt, Go's sigreturn: mov $15,%rax; syscall, or its
// mov $15,%eax form).
bool is_sigreturn_code(const uint8_t* b) {
  static constexpr uint8_t rax[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
  static constexpr uint8_t eax[] = {0xb8, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
  return std::memcmp(b, rax, sizeof rax) == 0 || std::memcmp(b, eax, sizeof eax) == 0;
}

// The kernel's x86-64 rt_sigframe, from the word the handler returns
// through (pretcode, the SA_RESTORER): ucontext follows it, whose
// uc_mcontext (after uc_flags, uc_link and the 24-byte uc_stack) holds
// r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, then rip.
constexpr size_t kFrameRipWord = (8 + 8 + 8 + 24 + 16 * 8) / 8;

}  // namespace

Result<bool> signal_frame_into(pid_t pid, pid_t tid, const std::vector<proc::MapEntry>& maps,
                               const std::vector<AreaRange>& areas, StackWord* found) {
  auto regs = proc::get_regs(tid);
  if (!regs) return regs.error();
  // One word below rsp too: a thread stopped in the restorer has popped
  // its frame's pretcode already.
  const uint64_t from = (regs->rsp & ~uint64_t{7}) - 8;
  auto m = std::find_if(maps.begin(), maps.end(), [&](const proc::MapEntry& e) { return e.contains(from + 8); });
  if (m == maps.end()) return Error("thread " + std::to_string(tid) + "'s stack pointer is in no mapping", ErrorKind::io);
  const uint64_t start = std::max(from, m->start);
  std::vector<uint64_t> words(std::min<uint64_t>(m->end - start, kMaxStackScan) / 8);
  iovec local{words.data(), words.size() * 8};
  iovec remote{reinterpret_cast<void*>(start), words.size() * 8};
  ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
  if (n < 0) return Error::from_errno("reading thread " + std::to_string(tid) + "'s stack", errno);
  words.resize(static_cast<size_t>(n) / 8);
  for (size_t i = kFrameRipWord; i < words.size(); ++i) {
    if (!inside(areas, words[i])) continue;
    uint8_t code[16] = {};
    iovec lc{code, sizeof code};
    iovec rc{reinterpret_cast<void*>(words[i - kFrameRipWord]), sizeof code};
    if (::process_vm_readv(pid, &lc, 1, &rc, 1, 0) < 9 || !is_sigreturn_code(code)) continue;
    if (found) *found = {start + 8 * i, words[i]};
    return true;
  }
  return false;
}

Status unmap_areas(const RemoteThread& remote, const std::vector<AreaRange>& areas) {
  // Not through the agent's gadget: its code may be among the areas.
  for (const AreaRange& a : areas) {
    proc::SyscallArgs call{SYS_munmap, {a.start, a.end - a.start}};
    auto r = proc::remote_syscall(remote.tid, remote.syscall_insn, call, remote.held);
    if (!r) return r.error();
    if (*r != 0) {
      return Error("munmap of probekit's area at " + hex(a.start) + " failed in the target: " +
                       std::strerror(static_cast<int>(-*r)),
                   ErrorKind::io, static_cast<int>(-*r));
    }
  }
  return {};
}

}  // namespace probekit::engine
