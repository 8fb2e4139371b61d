// proc/memory.h — a process's memory through /proc/PID/mem.
//
// /proc/PID/mem writes use FOLL_FORCE, so they reach read-only text pages
// (copy-on-write, like a debugger's breakpoint insertion) and our PROT_EXEC
// XOL areas, which the target itself cannot write. Reads of unmapped ranges
// come back short or as bad_address errors, never as crashes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "util/fd.h"
#include "util/result.h"

namespace probekit::proc {

class ProcessMemory {
public:
  static Result<ProcessMemory> open(pid_t pid);

  pid_t pid() const { return pid_; }
  // Reads up to len bytes; fewer when the range runs into unmapped memory.
  Result<size_t> read(uint64_t addr, void* buf, size_t len) const;
  // Reads exactly len bytes or fails with bad_address.
  Status read_exact(uint64_t addr, void* buf, size_t len) const;
  Status write(uint64_t addr, const void* buf, size_t len) const;
  // A NUL-terminated string of at most max bytes (without the NUL).
  Result<std::string> read_string(uint64_t addr, size_t max) const;

private:
  ProcessMemory(pid_t pid, Fd fd) : pid_(pid), fd_(std::move(fd)) {}
  pid_t pid_ = 0;
  Fd fd_;
};

}  // namespace probekit::proc
