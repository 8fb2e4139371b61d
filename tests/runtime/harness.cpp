#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#ifndef PROBEKIT_BINARY
#error "PROBEKIT_BINARY must be defined by CMake"
#endif
#ifndef PROBEKIT_TARGETS_DIR
#error "PROBEKIT_TARGETS_DIR must be defined by CMake"
#endif

namespace probekit::testing {

std::string probekit_path() { return PROBEKIT_BINARY; }
std::string target_path(const std::string& name) { return std::string(PROBEKIT_TARGETS_DIR) + "/" + name; }

namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> v;
  for (const auto& a : argv) v.push_back(const_cast<char*>(a.c_str()));
  v.push_back(nullptr);
  return v;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

RunResult run(const std::vector<std::string>& argv, double timeout_s) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    auto v = c_argv(argv);
    execv(v[0], v.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  RunResult r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  bool killed = false;
  while (open_fds > 0) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0) {
      if (!killed) kill(pid, SIGKILL);
      killed = true;
      left = 1000;
    }
    int n = poll(fds, 2, left);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 && killed) break;  // a process it left behind holds the pipes open
    for (auto& f : fds) {
      if (f.fd < 0 || !(f.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      ssize_t k = read(f.fd, buf, sizeof buf);
      if (k <= 0) {
        close(f.fd);
        f.fd = -1;
        --open_fds;
        continue;
      }
      (f.fd == out[0] ? r.out : r.err).append(buf, static_cast<size_t>(k));
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.status = decode_status(status);
  return r;
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& stdout_path) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(fd, 1);
    auto v = c_argv(argv);
    execv(v[0], v.data());
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid, double timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return decode_status(status);
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return decode_status(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool alive(pid_t pid) {
  // A zombie child is not alive for our purposes.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto rp = line.rfind(')');
  return rp != std::string::npos && rp + 2 < line.size() && line[rp + 2] != 'Z' && line[rp + 2] != 'X';
}

std::string text_snapshot(pid_t pid, const std::string& module_suffix) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string exe;
  char buf[4096];
  ssize_t n = readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), buf, sizeof buf - 1);
  if (n > 0) exe.assign(buf, static_cast<size_t>(n));
  int mem = open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  std::string snap;
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream is(line);
    std::string range, perms, off, dev, inode, path;
    is >> range >> perms >> off >> dev >> inode >> path;
    if (perms.size() < 3 || perms[2] != 'x' || path.empty()) continue;
    bool want = module_suffix.empty() ? path == exe
                                      : path.size() >= module_suffix.size() &&
                                            path.compare(path.size() - module_suffix.size(),
                                                         module_suffix.size(), module_suffix) == 0;
    if (!want) continue;
    unsigned long lo = std::stoul(range.substr(0, range.find('-')), nullptr, 16);
    unsigned long hi = std::stoul(range.substr(range.find('-') + 1), nullptr, 16);
    std::string bytes(hi - lo, '\0');
    ssize_t got = pread(mem, bytes.data(), bytes.size(), static_cast<off_t>(lo));
    if (got < 0) got = 0;
    bytes.resize(static_cast<size_t>(got));
    snap += range + "\n" + bytes;
  }
  if (mem >= 0) close(mem);
  return snap;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string output_file(const std::string& name) {
  std::string path = ::testing::TempDir() + "/" + name;
  ::unlink(path.c_str());
  return path;
}

size_t count_lines(const std::string& s, const std::string& needle) {
  size_t count = 0;
  std::istringstream is(s);
  std::string line;
  while (std::getline(is, line))
    if (line.find(needle) != std::string::npos) ++count;
  return count;
}

std::string status_field(pid_t pid, const std::string& field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(field + ":", 0) == 0) {
      std::string v = line.substr(field.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  return "";
}

std::string normalize(std::string s, const std::string& pattern, const std::string& replacement) {
  return std::regex_replace(s, std::regex(pattern), replacement);
}

}  // namespace probekit::testing
