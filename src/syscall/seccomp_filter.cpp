#include "syscall/seccomp_filter.h"

// Building: sort and de-duplicate, then emit the tree bottom-up (each subtree
// is a self-contained instruction vector whose jumps stay inside it, so two
// subtrees concatenate without relocation). Installing: two raw system calls
// with a sock_fprog built on the stack.

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <string>

#include "syscall/syscall_table.h"

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

namespace probekit::syscalls {
namespace {

constexpr uint32_t kX32Bit = __X32_SYSCALL_BIT;
constexpr size_t kMaxShortJump = 255;

sock_filter stmt(uint16_t code, uint32_t k) {
  return sock_filter{code, 0, 0, k};
}
sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  return sock_filter{code, jt, jf, k};
}

uint32_t trace_action(int nr) {
  return SECCOMP_RET_TRACE | (static_cast<uint32_t>(nr) & SECCOMP_RET_DATA);
}

// Program for sorted nrs[lo, hi): returns TRACE|nr on a match, ALLOW otherwise.
std::vector<sock_filter> emit_tree(const std::vector<int>& nrs, size_t lo, size_t hi) {
  std::vector<sock_filter> out;
  if (hi - lo <= kLeafSize) {
    for (size_t i = lo; i < hi; ++i) {
      out.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nrs[i]), 0, 1));
      out.push_back(stmt(BPF_RET | BPF_K, trace_action(nrs[i])));
    }
    out.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    return out;
  }
  size_t mid = lo + (hi - lo) / 2;
  std::vector<sock_filter> upper = emit_tree(nrs, mid, hi);
  std::vector<sock_filter> lower = emit_tree(nrs, lo, mid);
  uint32_t pivot = static_cast<uint32_t>(nrs[mid]);
  if (upper.size() <= kMaxShortJump) {
    // A >= pivot: fall into upper; else skip it into lower.
    out.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, pivot, 0, static_cast<uint8_t>(upper.size())));
  } else {
    // Too far for the 8-bit jf: jump over a `ja` whose 32-bit k skips upper.
    out.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, pivot, 1, 0));
    out.push_back(stmt(BPF_JMP | BPF_JA, static_cast<uint32_t>(upper.size())));
  }
  out.insert(out.end(), upper.begin(), upper.end());
  out.insert(out.end(), lower.begin(), lower.end());
  return out;
}

std::vector<int> normalise(const std::vector<int>& nrs) {
  std::vector<int> out;
  for (int nr : nrs) {
    if (nr >= 0 && (static_cast<uint32_t>(nr) & kX32Bit) == 0) out.push_back(nr);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void put_le(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

} // namespace

std::vector<sock_filter> build_trace_filter(const std::vector<int>& nrs) {
  std::vector<int> sorted = normalise(nrs);
  std::vector<sock_filter> prog = {
      stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      jump(BPF_JMP | BPF_JSET | BPF_K, kX32Bit, 0, 1),
      stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  std::vector<sock_filter> tree = emit_tree(sorted, 0, sorted.size());
  prog.insert(prog.end(), tree.begin(), tree.end());
  return prog;
}

std::vector<uint8_t> filter_bytes(const std::vector<sock_filter>& program) {
  std::vector<uint8_t> out;
  out.reserve(program.size() * sizeof(sock_filter));
  for (const sock_filter& f : program) {
    put_le(out, f.code, 2);
    put_le(out, f.jt, 1);
    put_le(out, f.jf, 1);
    put_le(out, f.k, 4);
  }
  return out;
}

static_assert(sizeof(sock_filter) == 8, "struct sock_filter is 8 bytes");
static_assert(sizeof(sock_fprog) == kFprogSize, "64-bit struct sock_fprog is 16 bytes");
static_assert(offsetof(sock_fprog, len) == kFprogLenOffset);
static_assert(offsetof(sock_fprog, filter) == kFprogFilterOffset);

Result<PreparedFilter> prepare(const std::vector<int>& nrs) {
  if (nrs.empty()) {
    return Error("no system calls to trace: name at least one system call", ErrorKind::usage);
  }
  for (int nr : nrs) {
    if (syscall_name(nr).empty()) {
      return Error("'" + std::to_string(nr) +
                       "' is not an x86-64 system call number: use a number from asm/unistd_64.h",
                   ErrorKind::usage);
    }
  }
  PreparedFilter f;
  f.nrs_ = normalise(nrs);
  f.program_ = build_trace_filter(f.nrs_);
  if (f.program_.size() > BPF_MAXINSNS) {
    return Error("seccomp filter for " + std::to_string(f.nrs_.size()) + " system calls has " +
                     std::to_string(f.program_.size()) + " instructions, more than the kernel's " +
                     std::to_string(BPF_MAXINSNS),
                 ErrorKind::internal);
  }
  return f;
}

int install_prepared(const PreparedFilter& filter) noexcept {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(filter.program().size());
  prog.filter = const_cast<sock_filter*>(filter.program().data());
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return errno;
  return 0;
}

Status install_in_self(const std::vector<int>& nrs) {
  auto filter = prepare(nrs);
  if (!filter) return filter.error();
  if (int err = install_prepared(*filter); err != 0) {
    return Error::from_errno("installing the seccomp filter", err, ErrorKind::permission);
  }
  return {};
}

std::vector<uint8_t> remote_image(const PreparedFilter& filter, uint64_t remote_addr) {
  std::vector<uint8_t> out;
  out.reserve(kFprogSize + filter.program().size() * sizeof(sock_filter));
  put_le(out, filter.program().size(), 2);
  put_le(out, 0, 6);
  put_le(out, remote_addr + kFprogSize, 8);
  std::vector<uint8_t> body = filter_bytes(filter.program());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

} // namespace probekit::syscalls
