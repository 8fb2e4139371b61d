#include "cli/preprocess.h"

#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/fd.h"
#include "util/strings.h"

extern char** environ;

namespace probekit::cli {

namespace {

// cpp's output is bounded like a -s file is (an #include of /dev/zero, a
// macro that expands for ever).
constexpr size_t kMaxOutputBytes = 64u << 20;

Result<Fd> memory_file(const char* name) {
  int fd = ::memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return Error::from_errno("memfd_create", errno);
  return Fd(fd);
}

Result<std::string> read_back(const Fd& fd) {
  std::string out;
  char buf[65536];
  uint64_t offset = 0;
  for (;;) {
    auto n = pread_full(fd.get(), buf, sizeof buf, offset);
    if (!n) return n.error();
    out.append(buf, *n);
    offset += *n;
    if (*n < sizeof buf) return out;
    if (out.size() > kMaxOutputBytes)
      return Error("the preprocessed program is larger than " + std::to_string(kMaxOutputBytes >> 20) + " MiB",
                   ErrorKind::usage);
  }
}

}  // namespace

Result<std::string> preprocess(const std::string& source, const std::string& file_name,
                               const PreprocessOptions& options) {
  std::string text = source;
  if (starts_with(text, "#!")) text.erase(0, text.find('\n'));  // keeps the newline: line numbers hold

  auto in = memory_file("probekit-cpp-in");
  if (!in) return in.error();
  auto out = memory_file("probekit-cpp-out");
  if (!out) return out.error();
  auto err = memory_file("probekit-cpp-err");
  if (!err) return err.error();
  if (auto w = pwrite_full(in->get(), text.data(), text.size(), 0); !w) return w.error();

  // -undef: none of gcc's own macros (`linux` would become 1); DTrace's
  // instead, so scripts written for dtrace -C find what they test.
  std::vector<std::string> args = {"cpp", "-x", "c", "-undef", "-D__linux", "-D__linux__", "-D__unix",
                                   "-D__unix__", "-D__x86_64", "-D__x86_64__", "-D_LP64", "-D__LP64__",
                                   "-D__SUNW_D=1", "-D__SUNW_D_64", "-D__probekit__=1"};
  // dtrace's -std=c99; -undef drops the __STRICT_ANSI__ it implies, which
  // is what tells <features.h> not to expose the GNU and BSD extensions.
  if (options.iso_c99) args.insert(args.end(), {"-std=c99", "-D__STRICT_ANSI__"});
  for (const auto& d : options.quote_dirs) args.insert(args.end(), {"-iquote", d});
  for (const auto& d : options.includes) args.push_back("-I" + d);
  for (const auto& d : options.defines) args.push_back("-D" + d);
  for (const auto& u : options.undefines) args.push_back("-U" + u);
  args.push_back("-");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in->get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out->get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err->get(), 2);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, "cpp", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    return Error(std::string("cannot run the C preprocessor 'cpp': ") + std::strerror(rc) +
                     "; install Debian's cpp package or drop -C",
                 ErrorKind::usage);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Error::from_errno("waitpid(cpp)", errno);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    auto messages = read_back(*err);
    std::string what = messages ? *messages : std::string();
    for (size_t p; (p = what.find("<stdin>")) != std::string::npos;) what.replace(p, 7, file_name);
    while (!what.empty() && what.back() == '\n') what.pop_back();
    for (size_t p; (p = what.find('\n')) != std::string::npos;) what.replace(p, 1, "; ");  // one error line
    return Error("the C preprocessor failed" + (what.empty() ? std::string() : ": " + what), ErrorKind::usage);
  }
  return read_back(*out);
}

}  // namespace probekit::cli
