// util/fd.h — RAII owners of OS resources (file descriptors, mappings).
// Factories return Result; destructors never throw. Every fd is O_CLOEXEC.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "util/result.h"

namespace probekit {

class Fd {
public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }

  // open(2) with O_CLOEXEC added.
  static Result<Fd> open(const std::string& path, int flags, int mode = 0);

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset();

private:
  int fd_ = -1;
};

// Whole-file read (for /proc files and small text files).
// With max_bytes, a file that grows past it (/dev/zero, a pipe that never
// ends) is an error of kind `usage` saying so, after max_bytes + 1 bytes.
Result<std::string> read_file(const std::string& path, size_t max_bytes = SIZE_MAX);
// The fields of a /proc stat file (/proc/PID/stat, .../task/TID/stat) after
// the command's ')' (the command may hold blanks and parentheses): [0] is
// field 3, the state. Empty when the file cannot be read.
std::vector<std::string> read_stat_fields(const std::string& path);

// pread/pwrite that loop until done; a short count means the rest is unmapped.
Result<size_t> pread_full(int fd, void* buf, size_t len, uint64_t offset);
Result<size_t> pwrite_full(int fd, const void* buf, size_t len, uint64_t offset);

}  // namespace probekit
