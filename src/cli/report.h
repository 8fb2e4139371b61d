// cli/report.h — how the probekit command talks to its user when things go
// wrong: `probekit: <where>: error: <what>` on stderr, the offending text
// with a caret under the column, and the exit codes (0 success, 1 failure,
// 2 usage; the D command exits 1 for a program it refuses, as dtrace(1)'s
// E_ERROR, and 2 only for a command line that does not parse, its E_USAGE).
#pragma once

#include <string>
#include <vector>

#include "util/result.h"

namespace probekit::cli {

enum ExitCode {
  exit_ok = 0,
  exit_runtime = 1,
  exit_rejected = 1,  // a D program that does not compile (dtrace's E_ERROR)
  exit_usage = 2,
};

// Prints `probekit: WHERE: error: MESSAGE` (WHERE omitted when empty).
void report_error(const std::string& where, const std::string& message);
// Prints the error; when it carries a source range into `text`, also the
// text and a caret line under the range. Returns the exit code it implies.
int report(const std::string& where, const Error& error, const std::string& text = "");
void report_warning(const std::string& where, const std::string& message);
void report_note(const std::string& message);

// The exit code an error implies: 2 for the user's mistakes, 1 otherwise.
int exit_code_for(const Error& error);

// Splits a -c command line into argv with shell-like quoting ('..', "..", \).
Result<std::vector<std::string>> split_command(const std::string& command);

}  // namespace probekit::cli
