// syscall/syscall_table.h — the x86-64 system call table: name <-> number.
//
// Owns the one list of system calls probekit knows, generated at configure
// time from the installed kernel headers (asm/unistd_64.h; see this folder's
// CMakeLists.txt), so it always matches the machine's headers and is never a
// hand-maintained copy. The D `syscall` provider resolves `syscall::NAME:`
// through it and lists probes from it.
//
// Only native x86-64 numbers are listed: x32 calls (nr | __X32_SYSCALL_BIT)
// and 32-bit (int 0x80) calls use other tables and are not traced.
//
// The namespace is `syscalls`, not `syscall`: a namespace named `syscall`
// inside probekit would hide libc's ::syscall() from every unqualified call
// in probekit code.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace probekit::syscalls {

// How a system call's return value reads, for printing it well. Only the
// common calls are annotated; the rest are `integer`.
enum class ReturnKind {
  integer, // a count, a flag or 0: print in decimal
  fd,      // a new file descriptor
  pointer, // an address (mmap, brk, shmat, mremap)
};

struct SyscallEntry {
  std::string_view name; // without the __NR_ prefix: "read", "openat"
  int nr = -1;
};

// Every system call of the installed headers, sorted by number.
std::span<const SyscallEntry> all_syscalls();

// The number of `name` ("openat"), or nullopt when there is no such call.
std::optional<int> syscall_number(std::string_view name);

// The name of `nr`, or "" when no system call has that number.
std::string_view syscall_name(int nr);

// Numbers of every call whose name matches the shell glob `glob`
// (util/strings.h glob_match: "*", "?", "[...]"), ascending. A plain name
// gives at most one number; an empty result means nothing matched.
std::vector<int> match_syscalls(std::string_view glob);

// Number of arguments `nr` takes (0..6), or nullopt when not annotated.
std::optional<int> syscall_arg_count(int nr);

// How `nr`'s return value reads (integer when not annotated).
ReturnKind syscall_return_kind(int nr);

} // namespace probekit::syscalls
