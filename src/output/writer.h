// output/writer.h — where output lines go: stdout or a file (-o FILE).
//
// Line-buffered: text accumulates until a '\n', then every complete line is
// written with write(2), so a reader following the file (or a pipe) sees each
// hit as it happens and never half a line. flush() writes any partial line;
// the destructor flushes too, so output survives a normal exit. A write error
// (EPIPE, ENOSPC) is returned once and then sticks, so a front end can stop
// tracing instead of losing lines silently.
//
// A file is prepared before the target is touched (so a bad path is an
// error before anything starts) and truncated only when output starts, or
// appended to (D's -o FILE, as dtrace(1) opens it): a run that fails during
// set-up leaves an existing file as it was and removes one it created. The last component is never followed when it is a
// symbolic link (a link planted at the output path must not redirect a
// root tracer's writes); /dev/stdout and /dev/stderr name the streams.
#pragma once

#include <string>
#include <string_view>

#include "util/fd.h"
#include "util/result.h"

namespace probekit::output {

class Writer {
public:
  // stdout, not owned.
  static Writer to_stdout();
  // A file, created or truncated (mode 0644); "-" means stdout.
  static Result<Writer> open(const std::string& path);
  // The file opened (or created, mode 0644) but not truncated yet; start()
  // or the first write truncates it. Destroyed before that, a file it
  // created is removed.
  // Mode::append keeps what the file holds and writes after it.
  enum class Mode { truncate, append };
  static Result<Writer> prepare(const std::string& path, Mode mode = Mode::truncate);
  Status start();
  // An fd that the caller keeps owning (tests use a pipe).
  static Writer to_fd(int fd);

  Writer(Writer&& o) noexcept;
  Writer& operator=(Writer&& o) noexcept;
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  ~Writer();

  Status write(std::string_view text);
  Status flush();
  // D's ftruncate(): what was written is flushed, then emptied, and output
  // continues at the start, where it is a regular file (-o FILE, or stdout
  // redirected to one); a terminal, a pipe or a device is left as it is,
  // as dtrace(1)'s ftruncate(fileno(fp), 0) and fseeko fail there unseen.
  Status truncate();
  const std::string& path() const { return path_; }

private:
  Writer(int fd, Fd owned, std::string path) : fd_(fd), owned_(std::move(owned)), path_(std::move(path)) {}
  Status write_out(std::string_view data);

  int fd_ = -1;
  Fd owned_;
  std::string path_;
  std::string pending_;  // an incomplete last line
  bool failed_ = false;
  std::string failure_;
  bool started_ = true;   // truncated (or nothing to truncate), or output began
  bool append_ = false;   // Mode::append: never truncated when output starts
  bool created_ = false;  // prepare() created the file
};

}  // namespace probekit::output
