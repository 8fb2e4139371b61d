#include "util/fd.h"

#include "util/strings.h"

#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <unistd.h>

namespace probekit {

void Fd::reset() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

Result<Fd> Fd::open(const std::string& path, int flags, int mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return Error::from_errno("cannot open '" + path + "'", errno);
  return Fd(fd);
}

Result<std::string> read_file(const std::string& path, size_t max_bytes) {
  auto fd = Fd::open(path, O_RDONLY);
  if (!fd) return fd.error();
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("cannot read '" + path + "'", errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      return Error("'" + path + "' is larger than " + std::to_string(max_bytes) + " bytes (or never ends)",
                   ErrorKind::usage);
    }
  }
  return out;
}

Result<size_t> pread_full(int fd, void* buf, size_t len, uint64_t offset) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, static_cast<char*>(buf) + done, len - done,
                        static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (done > 0 && (errno == EIO || errno == EFAULT)) break;
      return Error::from_errno("read at " + hex(offset), errno, ErrorKind::bad_address);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Result<size_t> pwrite_full(int fd, const void* buf, size_t len, uint64_t offset) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pwrite(fd, static_cast<const char*>(buf) + done, len - done,
                         static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno("write at " + hex(offset), errno, ErrorKind::bad_address);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

std::vector<std::string> read_stat_fields(const std::string& path) {
  auto text = read_file(path);
  if (!text) return {};
  auto close = text->rfind(')');
  if (close == std::string::npos) return {};
  return split_ws(std::string_view(*text).substr(close + 1));
}

}  // namespace probekit
