#include "cli/report.h"

#include <cstdio>
#include <vector>

namespace probekit::cli {

void report_error(const std::string& where, const std::string& message) {
  if (where.empty())
    std::fprintf(stderr, "probekit: error: %s\n", message.c_str());
  else
    std::fprintf(stderr, "probekit: %s: error: %s\n", where.c_str(), message.c_str());
}

void report_warning(const std::string& where, const std::string& message) {
  if (where.empty())
    std::fprintf(stderr, "probekit: warning: %s\n", message.c_str());
  else
    std::fprintf(stderr, "probekit: %s: warning: %s\n", where.c_str(), message.c_str());
}

void report_note(const std::string& message) { std::fprintf(stderr, "probekit: note: %s\n", message.c_str()); }

int exit_code_for(const Error& error) { return error.is_usage() ? exit_usage : exit_runtime; }

int report(const std::string& where, const Error& error, const std::string& text) {
  report_error(where, error.message());
  const auto& range = error.range();
  if (range && !text.empty() && range->column >= 1) {
    // The line of `text` the range is on (definitions are one line).
    std::string line = text;
    int lineno = 1;
    size_t start = 0;
    while (lineno < range->line) {
      size_t nl = text.find('\n', start);
      if (nl == std::string::npos) break;
      start = nl + 1;
      ++lineno;
    }
    size_t end = text.find('\n', start);
    line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::fprintf(stderr, "    %s\n    ", line.c_str());
    for (int i = 1; i < range->column; ++i) std::fputc(line[i - 1] == '\t' ? '\t' : ' ', stderr);
    std::fputc('^', stderr);
    for (int i = 1; i < range->length; ++i) std::fputc('~', stderr);
    std::fputc('\n', stderr);
  }
  return exit_code_for(error);
}

Result<std::vector<std::string>> split_command(const std::string& command) {
  std::vector<std::string> argv;
  std::string cur;
  bool have = false;
  char quote = 0;
  for (size_t i = 0; i < command.size(); ++i) {
    char c = command[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < command.size()) {
        cur += command[++i];
      } else {
        cur += c;
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      have = true;
    } else if (c == '\\' && i + 1 < command.size()) {
      cur += command[++i];
      have = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (have) argv.push_back(cur);
      cur.clear();
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (quote) return Error(std::string("unterminated ") + quote + " in command '" + command + "'", ErrorKind::usage);
  if (have) argv.push_back(cur);
  if (argv.empty()) return Error("empty command given to -c", ErrorKind::usage);
  return argv;
}

}  // namespace probekit::cli
