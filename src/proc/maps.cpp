#include "proc/maps.h"

#include "util/fd.h"
#include "util/strings.h"

namespace probekit::proc {

namespace {

// Consumes one blank-separated field from `s`.
std::string_view next_field(std::string_view& s) {
  size_t b = s.find_first_not_of(' ');
  if (b == std::string_view::npos) {
    s = {};
    return {};
  }
  s.remove_prefix(b);
  size_t e = s.find(' ');
  std::string_view f = s.substr(0, e);
  s.remove_prefix(e == std::string_view::npos ? s.size() : e);
  return f;
}

}  // namespace

Result<std::vector<MapEntry>> parse_maps(std::string_view text) {
  std::vector<MapEntry> out;
  for (const auto& line : split(text, '\n')) {
    if (trim(line).empty()) continue;
    std::string_view s = line;
    MapEntry m;
    std::string_view range = next_field(s);
    size_t dash = range.find('-');
    auto start = dash == std::string_view::npos ? std::nullopt : parse_uint(range.substr(0, dash), 16);
    auto end = dash == std::string_view::npos ? std::nullopt : parse_uint(range.substr(dash + 1), 16);
    m.perms = std::string(next_field(s));
    auto offset = parse_uint(next_field(s), 16);
    m.dev = std::string(next_field(s));
    auto inode = parse_uint(next_field(s), 10);
    if (!start || !end || !offset || !inode || m.perms.size() != 4) {
      return Error("malformed maps line '" + line + "'", ErrorKind::io);
    }
    m.start = *start;
    m.end = *end;
    m.offset = *offset;
    m.inode = *inode;
    // The path is the rest of the line (it may contain blanks).
    m.path = std::string(trim(s));
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<MapEntry>> read_maps(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/maps");
  if (!text) return text.error();
  return parse_maps(*text);
}

}  // namespace probekit::proc
