#include "output/writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace probekit::output {

Writer Writer::to_stdout() { return Writer(STDOUT_FILENO, Fd(), "<stdout>"); }

Writer Writer::to_fd(int fd) { return Writer(fd, Fd(), "<fd " + std::to_string(fd) + ">"); }

Result<Writer> Writer::open(const std::string& path) {
  auto w = prepare(path);
  if (!w) return w;
  if (auto st = w->start(); !st) return st.error();
  return w;
}

Result<Writer> Writer::prepare(const std::string& path, Mode mode) {
  if (path == "-" || path == "/dev/stdout") return to_stdout();
  if (path == "/dev/stderr") return Writer(STDERR_FILENO, Fd(), "<stderr>");
  auto fail = [&](int err) -> Result<Writer> {
    std::string why = "cannot open output file '" + path + "'";
    if (err == ELOOP) {
      char target[4096];
      ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
      std::string to = n > 0 ? " to '" + std::string(target, static_cast<size_t>(n)) + "'" : "";
      return Error(why + ": it is a symbolic link" + to + "; name the file itself", ErrorKind::usage, err);
    }
    return Error::from_errno(why, err);
  };
  // O_NOFOLLOW: a symbolic link as the last component is refused (ELOOP).
  bool created = false;
  const int flags = O_WRONLY | O_NOFOLLOW | O_CLOEXEC | (mode == Mode::append ? O_APPEND : 0);
  int fd = ::open(path.c_str(), flags);
  if (fd < 0 && errno == ENOENT) {
    fd = ::open(path.c_str(), flags | O_CREAT | O_EXCL, 0644);
    created = fd >= 0;
  }
  if (fd < 0) return fail(errno);
  Writer w(fd, Fd(fd), path);
  struct stat st {};
  // Only a regular file is truncated (a FIFO, a terminal or /dev/null is written as it is).
  w.started_ = ::fstat(fd, &st) == 0 && !S_ISREG(st.st_mode);
  w.created_ = created;
  w.append_ = mode == Mode::append;
  return w;
}

Status Writer::start() {
  if (started_) return {};
  started_ = true;
  if (!append_ && ::ftruncate(fd_, 0) != 0) return Error::from_errno("cannot truncate output file '" + path_ + "'", errno);
  return {};
}

Writer::Writer(Writer&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      owned_(std::move(o.owned_)),
      path_(std::move(o.path_)),
      pending_(std::move(o.pending_)),
      failed_(o.failed_),
      failure_(std::move(o.failure_)),
      started_(std::exchange(o.started_, true)),
      append_(o.append_),
      created_(std::exchange(o.created_, false)) {}

Writer& Writer::operator=(Writer&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) (void)flush();
    fd_ = std::exchange(o.fd_, -1);
    owned_ = std::move(o.owned_);
    path_ = std::move(o.path_);
    pending_ = std::move(o.pending_);
    failed_ = o.failed_;
    failure_ = std::move(o.failure_);
    started_ = std::exchange(o.started_, true);
    append_ = o.append_;
    created_ = std::exchange(o.created_, false);
  }
  return *this;
}

Writer::~Writer() {
  if (fd_ >= 0 && started_) (void)flush();
  if (created_ && !started_) ::unlink(path_.c_str());  // set-up failed: leave no trace
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
  PK_TRY(start());
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
  PK_TRY(start());
  if (pending_.empty()) return {};
  std::string data = std::move(pending_);
  pending_.clear();
  return write_out(data);
}

Status Writer::truncate() {
  PK_TRY(flush());
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) return {};
  if (::ftruncate(fd_, 0) != 0) return Error::from_errno("cannot truncate output file '" + path_ + "'", errno);
  // Without O_APPEND the offset would stay where it was, leaving a hole.
  if (::lseek(fd_, 0, SEEK_SET) < 0) return Error::from_errno("cannot rewind output file '" + path_ + "'", errno);
  return {};
}

}  // namespace probekit::output
