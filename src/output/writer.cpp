#include "output/writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace probekit::output {

Writer Writer::to_stdout() { return Writer(STDOUT_FILENO, Fd(), "<stdout>"); }

Writer Writer::to_fd(int fd) { return Writer(fd, Fd(), "<fd " + std::to_string(fd) + ">"); }

Result<Writer> Writer::open(const std::string& path) {
  if (path == "-") return to_stdout();
  auto fd = Fd::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!fd) {
    Error e = fd.error();
    return e.context("cannot open output file '" + path + "'");
  }
  int raw = fd->get();
  return Writer(raw, std::move(*fd), path);
}

Writer::Writer(Writer&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      owned_(std::move(o.owned_)),
      path_(std::move(o.path_)),
      pending_(std::move(o.pending_)),
      failed_(o.failed_),
      failure_(std::move(o.failure_)) {}

Writer& Writer::operator=(Writer&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) (void)flush();
    fd_ = std::exchange(o.fd_, -1);
    owned_ = std::move(o.owned_);
    path_ = std::move(o.path_);
    pending_ = std::move(o.pending_);
    failed_ = o.failed_;
    failure_ = std::move(o.failure_);
  }
  return *this;
}

Writer::~Writer() {
  if (fd_ >= 0) (void)flush();
}

Status Writer::write_out(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      failed_ = true;
      Error e = Error::from_errno("writing to " + path_, errno);
      failure_ = e.message();
      return e;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Status Writer::write(std::string_view text) {
  if (failed_) return Error(failure_, ErrorKind::io);
  size_t last = text.rfind('\n');
  if (last == std::string_view::npos) {
    pending_.append(text);
    return {};
  }
  Status st;
  if (pending_.empty()) {
    st = write_out(text.substr(0, last + 1));
  } else {
    pending_.append(text.substr(0, last + 1));
    st = write_out(pending_);
    pending_.clear();
  }
  pending_.append(text.substr(last + 1));
  return st;
}

Status Writer::flush() {
  if (failed_) return Error(failure_, ErrorKind::io);
  if (pending_.empty()) return {};
  std::string data = std::move(pending_);
  pending_.clear();
  return write_out(data);
}

}  // namespace probekit::output
