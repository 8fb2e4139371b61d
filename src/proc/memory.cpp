#include "proc/memory.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>

#include "util/strings.h"

namespace probekit::proc {

Result<ProcessMemory> ProcessMemory::open(pid_t pid) {
  auto fd = Fd::open("/proc/" + std::to_string(pid) + "/mem", O_RDWR);
  if (!fd) {
    auto kind = fd.error().errnum() == ENOENT ? ErrorKind::no_such_process : ErrorKind::io;
    return Error(fd.error().message(), kind, fd.error().errnum());
  }
  return ProcessMemory(pid, std::move(*fd));
}

Result<size_t> ProcessMemory::read(uint64_t addr, void* buf, size_t len) const {
  return pread_full(fd_.get(), buf, len, addr);
}

Status ProcessMemory::read_exact(uint64_t addr, void* buf, size_t len) const {
  auto n = pread_full(fd_.get(), buf, len, addr);
  if (!n) return n.error();
  if (*n != len) {
    return Error("cannot read " + std::to_string(len) + " bytes at " + hex(addr), ErrorKind::bad_address);
  }
  return {};
}

Status ProcessMemory::write(uint64_t addr, const void* buf, size_t len) const {
  auto n = pwrite_full(fd_.get(), buf, len, addr);
  if (!n) return n.error();
  if (*n != len) {
    return Error("cannot write " + std::to_string(len) + " bytes at " + hex(addr), ErrorKind::bad_address);
  }
  return {};
}

Result<std::string> ProcessMemory::read_string(uint64_t addr, size_t max) const {
  std::string out;
  char chunk[256];
  while (out.size() < max) {
    // Never read across a page boundary in one go: the next page may be unmapped.
    size_t page_left = 4096 - (addr & 4095);
    size_t want = std::min<size_t>({sizeof chunk, max - out.size(), page_left});
    auto n = pread_full(fd_.get(), chunk, want, addr);
    if (!n) {
      if (out.empty()) return n.error();
      break;
    }
    if (*n == 0) {
      if (out.empty()) return Error("cannot read string at " + hex(addr), ErrorKind::bad_address);
      break;
    }
    for (size_t i = 0; i < *n; ++i) {
      if (chunk[i] == '\0') return out;
      out.push_back(chunk[i]);
    }
    addr += *n;
  }
  return out;
}

}  // namespace probekit::proc
