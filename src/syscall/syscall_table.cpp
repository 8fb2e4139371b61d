#include "syscall/syscall_table.h"

// The table itself comes from the build tree (generated/syscall_table.inc).
// Annotations (argument counts, return kinds) are keyed by name, not number,
// and looked up in the generated table, so a name missing from the headers
// simply has no annotation.

#include <algorithm>
#include <array>

#include "util/strings.h"

namespace probekit::syscalls {
namespace {

constexpr SyscallEntry kTable[] = {
#include "syscall_table.inc"
};

// The header lists numbers in ascending order; syscall_name relies on it.
constexpr bool table_is_sorted() {
  for (size_t i = 1; i < std::size(kTable); ++i) {
    if (kTable[i - 1].nr >= kTable[i].nr) return false;
  }
  return true;
}
static_assert(table_is_sorted(), "asm/unistd_64.h numbers are expected in ascending order");

struct Annotation {
  std::string_view name;
  int args;
  ReturnKind ret;
};

// Argument counts from the kernel's SYSCALL_DEFINEn for the calls people
// trace most often.
constexpr Annotation kAnnotations[] = {
    {"read", 3, ReturnKind::integer},
    {"write", 3, ReturnKind::integer},
    {"open", 3, ReturnKind::fd},
    {"close", 1, ReturnKind::integer},
    {"stat", 2, ReturnKind::integer},
    {"fstat", 2, ReturnKind::integer},
    {"lstat", 2, ReturnKind::integer},
    {"poll", 3, ReturnKind::integer},
    {"lseek", 3, ReturnKind::integer},
    {"mmap", 6, ReturnKind::pointer},
    {"mprotect", 3, ReturnKind::integer},
    {"munmap", 2, ReturnKind::integer},
    {"brk", 1, ReturnKind::pointer},
    {"rt_sigaction", 4, ReturnKind::integer},
    {"rt_sigprocmask", 4, ReturnKind::integer},
    {"ioctl", 3, ReturnKind::integer},
    {"pread64", 4, ReturnKind::integer},
    {"pwrite64", 4, ReturnKind::integer},
    {"readv", 3, ReturnKind::integer},
    {"writev", 3, ReturnKind::integer},
    {"access", 2, ReturnKind::integer},
    {"pipe", 1, ReturnKind::integer},
    {"mremap", 5, ReturnKind::pointer},
    {"dup", 1, ReturnKind::fd},
    {"dup2", 2, ReturnKind::fd},
    {"nanosleep", 2, ReturnKind::integer},
    {"getpid", 0, ReturnKind::integer},
    {"socket", 3, ReturnKind::fd},
    {"connect", 3, ReturnKind::integer},
    {"accept", 3, ReturnKind::fd},
    {"sendto", 6, ReturnKind::integer},
    {"recvfrom", 6, ReturnKind::integer},
    {"sendmsg", 3, ReturnKind::integer},
    {"recvmsg", 3, ReturnKind::integer},
    {"bind", 3, ReturnKind::integer},
    {"listen", 2, ReturnKind::integer},
    {"clone", 5, ReturnKind::integer},
    {"fork", 0, ReturnKind::integer},
    {"vfork", 0, ReturnKind::integer},
    {"execve", 3, ReturnKind::integer},
    {"exit", 1, ReturnKind::integer},
    {"wait4", 4, ReturnKind::integer},
    {"kill", 2, ReturnKind::integer},
    {"fcntl", 3, ReturnKind::integer},
    {"fsync", 1, ReturnKind::integer},
    {"getcwd", 2, ReturnKind::integer},
    {"chdir", 1, ReturnKind::integer},
    {"rename", 2, ReturnKind::integer},
    {"mkdir", 2, ReturnKind::integer},
    {"unlink", 1, ReturnKind::integer},
    {"getuid", 0, ReturnKind::integer},
    {"getppid", 0, ReturnKind::integer},
    {"shmat", 3, ReturnKind::pointer},
    {"gettid", 0, ReturnKind::integer},
    {"futex", 6, ReturnKind::integer},
    {"epoll_wait", 4, ReturnKind::integer},
    {"clock_gettime", 2, ReturnKind::integer},
    {"exit_group", 1, ReturnKind::integer},
    {"tgkill", 3, ReturnKind::integer},
    {"openat", 4, ReturnKind::fd},
    {"newfstatat", 4, ReturnKind::integer},
    {"unlinkat", 3, ReturnKind::integer},
    {"ppoll", 5, ReturnKind::integer},
    {"accept4", 4, ReturnKind::fd},
    {"epoll_create1", 1, ReturnKind::fd},
    {"dup3", 3, ReturnKind::fd},
    {"pipe2", 2, ReturnKind::integer},
    {"eventfd2", 2, ReturnKind::fd},
    {"getrandom", 3, ReturnKind::integer},
    {"memfd_create", 2, ReturnKind::fd},
    {"statx", 5, ReturnKind::integer},
    {"clone3", 2, ReturnKind::integer},
    {"pidfd_open", 2, ReturnKind::fd},
    {"openat2", 4, ReturnKind::fd},
    {"epoll_pwait", 6, ReturnKind::integer},
    {"sched_yield", 0, ReturnKind::integer},
};

// A misspelt annotation would silently never apply: refuse to compile.
constexpr bool annotations_name_real_calls() {
  for (const Annotation& a : kAnnotations) {
    bool found = false;
    for (const SyscallEntry& e : kTable)
      found = found || e.name == a.name;
    if (!found) return false;
  }
  return true;
}
static_assert(annotations_name_real_calls(), "an annotation names a call missing from unistd_64.h");

const Annotation* annotation_of(int nr) {
  std::string_view name = syscall_name(nr);
  if (name.empty()) return nullptr;
  for (const Annotation& a : kAnnotations) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

} // namespace

std::span<const SyscallEntry> all_syscalls() {
  return kTable;
}

std::optional<int> syscall_number(std::string_view name) {
  for (const SyscallEntry& e : kTable) {
    if (e.name == name) return e.nr;
  }
  return std::nullopt;
}

std::string_view syscall_name(int nr) {
  auto it = std::lower_bound(std::begin(kTable), std::end(kTable), nr,
                             [](const SyscallEntry& e, int n) { return e.nr < n; });
  if (it == std::end(kTable) || it->nr != nr) return {};
  return it->name;
}

std::vector<int> match_syscalls(std::string_view glob) {
  std::vector<int> out;
  for (const SyscallEntry& e : kTable) {
    if (glob_match(glob, e.name)) out.push_back(e.nr);
  }
  return out;
}

std::optional<int> syscall_arg_count(int nr) {
  const Annotation* a = annotation_of(nr);
  if (!a) return std::nullopt;
  return a->args;
}

ReturnKind syscall_return_kind(int nr) {
  const Annotation* a = annotation_of(nr);
  return a ? a->ret : ReturnKind::integer;
}

} // namespace probekit::syscalls
