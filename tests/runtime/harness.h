// runtime/harness.h — end-to-end tests run the real `probekit` binary the
// way a user does and look at what it printed, how it exited, and what it
// did to the traced program.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace probekit::testing {

struct RunResult {
  std::string out;
  std::string err;
  int status = -1;  // exit code, or 128+signal
};

// Paths configured by CMake.
std::string probekit_path();
std::string target_path(const std::string& name);  // ${build}/targets/NAME

// Runs argv to completion (stdin from /dev/null), capturing stdout and stderr.
// Kills it after timeout_s seconds (status then 128+SIGKILL).
RunResult run(const std::vector<std::string>& argv, double timeout_s = 60);

// Starts argv in the background with stdout to a file; returns its pid.
pid_t spawn(const std::vector<std::string>& argv, const std::string& stdout_path);
// Waits for pid and returns its status (exit code or 128+signal).
int wait_exit(pid_t pid, double timeout_s = 30);
bool alive(pid_t pid);

// Bytes of the executable mapping(s) of pid's main program or of a module
// whose path ends with `module_suffix` ("" = main executable): r-x ranges read
// through /proc/PID/mem, concatenated with their addresses as a header, so two
// snapshots compare equal only when every byte of text is the same.
std::string text_snapshot(pid_t pid, const std::string& module_suffix = "");

std::string read_file(const std::string& path);
// TempDir()/NAME with nothing there: probekit's -o appends, as dtrace's does,
// so a file left by an earlier run (or the other build's) would be read too.
std::string output_file(const std::string& name);
// Count of lines in s containing needle.
size_t count_lines(const std::string& s, const std::string& needle);
// Replaces every match of regex `pattern` in s with `replacement`.
std::string normalize(std::string s, const std::string& pattern, const std::string& replacement);
// A field of /proc/PID/status ("TracerPid", "State"), "" when absent.
std::string status_field(pid_t pid, const std::string& field);

}  // namespace probekit::testing
