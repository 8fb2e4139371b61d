#include "cli/report.h"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace probekit::cli {

namespace {

// Messages quote what the user typed (definitions, paths, symbols): a
// control byte in them is shown as \xNN, as D's diagnostics show an invalid
// character, so it cannot drive the terminal. Tabs are kept.
std::string shown(unsigned char c) {
  if (c == '\t' || (c >= 0x20 && c != 0x7f)) return std::string(1, static_cast<char>(c));
  static const char digits[] = "0123456789abcdef";
  return std::string("\\x") + digits[c >> 4] + digits[c & 15];
}

std::string escaped(const std::string& text) {
  std::string out;
  for (unsigned char c : text) out += shown(c);
  return out;
}

}  // namespace

void report_error(const std::string& where, const std::string& message) {
  if (where.empty())
    std::fprintf(stderr, "probekit: error: %s\n", escaped(message).c_str());
  else
    std::fprintf(stderr, "probekit: %s: error: %s\n", escaped(where).c_str(), escaped(message).c_str());
}

void report_warning(const std::string& where, const std::string& message) {
  if (where.empty())
    std::fprintf(stderr, "probekit: warning: %s\n", escaped(message).c_str());
  else
    std::fprintf(stderr, "probekit: %s: warning: %s\n", escaped(where).c_str(), escaped(message).c_str());
}

void report_note(const std::string& message) {
  std::fprintf(stderr, "probekit: note: %s\n", escaped(message).c_str());
}

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
    // The caret goes under the shown form of each byte.
    std::string pad, marks;
    for (size_t i = 0; i < line.size(); ++i) {
      std::string s = shown(static_cast<unsigned char>(line[i]));
      size_t at = i + 1;
      if (at < static_cast<size_t>(range->column))
        pad += line[i] == '\t' ? std::string("\t") : std::string(s.size(), ' ');
      else if (at < static_cast<size_t>(range->column + std::max(1, range->length)))
        marks.append(1, at == static_cast<size_t>(range->column) ? '^' : '~').append(s.size() - 1, '~');
    }
    size_t column = static_cast<size_t>(range->column);
    if (column > line.size()) pad.append(column - 1 - line.size(), ' ');
    if (marks.empty()) marks.assign(1, '^');
    std::fprintf(stderr, "    %s\n    %s%s\n", escaped(line).c_str(), pad.c_str(), marks.c_str());
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
