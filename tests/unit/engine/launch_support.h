// engine/launch_support.h — what the engine tests share: where the traced
// programs are, running one untraced for its expected output, and launching
// one under a Session with its stdout captured in a file.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "probekit/probekit.h"
#include "proc/maps.h"
#include "proc/memory.h"
#include "util/fd.h"

namespace probekit::testing {

// ${build}/targets/NAME-BUILD, e.g. target("pk_basic", "pie-O2").
inline std::string target(const std::string& name, const std::string& build) {
  return std::string(PK_TARGETS_DIR) + "/" + name + "-" + build;
}

inline std::string temp_path(const std::string& tag) {
  static int n = 0;
  return "/tmp/pk_engine_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(n++);
}

// Starts argv untraced (execv, no PATH search) with its stdout in out_path.
inline pid_t spawn_with_stdout(const std::vector<std::string>& argv, const std::string& out_path) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    ::execv(a[0], a.data());
    ::_exit(127);
  }
  return pid;
}

// Runs argv without probekit; returns its stdout (and its exit status).
inline std::string run_plain(const std::vector<std::string>& argv, int* status = nullptr) {
  std::string out = temp_path("plain");
  pid_t pid = spawn_with_stdout(argv, out);
  int st = 0;
  ::waitpid(pid, &st, 0);
  if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  auto text = read_file(out);
  ::unlink(out.c_str());
  return text ? *text : "";
}

// A launched target and the file its stdout goes to.
struct Traced {
  std::unique_ptr<Session> session;
  std::string out_path;
  std::string output() const {
    auto t = read_file(out_path);
    return t ? *t : "";
  }
  Traced() = default;
  Traced(Traced&&) = default;
  ~Traced() {
    session.reset();
    if (!out_path.empty()) ::unlink(out_path.c_str());
  }
};

// The options every session of a test gets: PK_TEST_BACKEND=trap (set by
// ctest for the `.trap` copy of each test, cmake/probekit.cmake) forces the
// trap backend where the test did not choose one, so that every engine test
// runs in both backends.
inline bool trap_run() {
  const char* b = ::getenv("PK_TEST_BACKEND");
  return b && std::string(b) == "trap";
}
inline LaunchOptions test_options(LaunchOptions opts = {}) {
  if (trap_run() && opts.backend == BackendChoice::automatic) opts.backend = BackendChoice::trap;
  return opts;
}

// A probe that only counts (Probe::count_only): a jump probe where eligible
// in the default run, a trap probe in the `.trap` run. Its hits are the
// session's (read them while the session is not running).
struct Counter {
  Session* session = nullptr;
  ProbeId id = 0;
  uint64_t load() const { return session->stats(id).hits; }
};
inline Result<Counter> add_counter(Session& s, const std::string& where) {
  Probe p;
  p.where = Location::parse(where).value();
  p.count_only = true;
  auto id = s.add(std::move(p));
  if (!id) return id.error();
  return Counter{&s, *id};
}

// The target's mappings, one "start-end perms path" line each (the main
// stack by its end only: it may grow at any time).
inline std::vector<std::string> mappings(pid_t pid) {
  std::vector<std::string> out;
  auto maps = proc::read_maps(pid);
  if (!maps) return out;
  for (const auto& m : *maps) {
    std::string start = m.path == "[stack]" ? "" : std::to_string(m.start);
    out.push_back(start + "-" + std::to_string(m.end) + " " + m.perms + " " + m.path);
  }
  return out;
}

inline Traced launch(const std::vector<std::string>& argv, LaunchOptions opts = {}) {
  Traced t;
  t.out_path = temp_path("out");
  opts = test_options(std::move(opts));
  opts.stdout_path = t.out_path;
  auto s = Session::launch(argv, opts);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message());
  if (s) t.session = std::move(*s);
  return t;
}

// Starts argv untraced with its stdout in out_path (for attach tests) and
// waits until it has printed at least min_bytes.
inline pid_t start_printing(const std::vector<std::string>& argv, const std::string& out_path, size_t min_bytes) {
  pid_t child = spawn_with_stdout(argv, out_path);
  for (int i = 0; i < 5000 && read_file(out_path).value_or("").size() < min_bytes; ++i) ::usleep(1000);
  return child;
}

// The bytes of every executable mapping whose path contains `name`.
inline std::vector<uint8_t> text_bytes(pid_t pid, const std::string& name) {
  auto maps = proc::read_maps(pid);
  auto mem = proc::ProcessMemory::open(pid);
  std::vector<uint8_t> out;
  if (!maps || !mem) return out;
  for (const auto& m : *maps) {
    if (m.executable() && m.path.find(name) != std::string::npos) {
      std::vector<uint8_t> b(m.end - m.start);
      if (mem->read_exact(m.start, b.data(), b.size())) out.insert(out.end(), b.begin(), b.end());
    }
  }
  return out;
}

}  // namespace probekit::testing
