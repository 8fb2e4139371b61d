// engine/location.cpp — Location::parse/to_string: SYMBOL, SYMBOL+OFFS,
// MODULE:SYMBOL[+OFFS], [MODULE:]0xADDR. C++ names keep their "::" (the
// module separator is a lone ':'), and "operator+" keeps its '+' (an offset
// is a '+' followed by a number).
#include "probekit/probekit.h"
#include "util/strings.h"

namespace probekit {

Result<Location> Location::parse(const std::string& text) {
  Location loc;
  std::string rest(trim(text));
  if (rest.empty()) return Error("empty probe location; expected [MODULE:]SYMBOL[+OFFSET] or [MODULE:]0xADDR", ErrorKind::parse);
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] != ':') continue;
    bool double_colon = (i + 1 < rest.size() && rest[i + 1] == ':') || (i > 0 && rest[i - 1] == ':');
    if (double_colon) {
      if (i + 1 < rest.size() && rest[i + 1] == ':') ++i;
      continue;
    }
    loc.module = rest.substr(0, i);
    rest = rest.substr(i + 1);
    if (loc.module.empty()) return Error("empty module name in '" + text + "'", ErrorKind::parse);
    break;
  }
  if (rest.empty()) return Error("missing symbol or address in '" + text + "'", ErrorKind::parse);
  if (starts_with(rest, "0x") || starts_with(rest, "0X") || (rest[0] >= '0' && rest[0] <= '9')) {
    auto addr = parse_uint(rest);
    if (!addr) return Error("malformed address '" + rest + "' in '" + text + "'", ErrorKind::parse);
    loc.address = *addr;
    return loc;
  }
  auto plus = rest.rfind('+');
  if (plus != std::string::npos && plus + 1 < rest.size()) {
    auto off = parse_uint(std::string_view(rest).substr(plus + 1));
    if (off) {
      loc.offset = *off;
      rest = rest.substr(0, plus);
    } else if (rest[plus + 1] >= '0' && rest[plus + 1] <= '9') {
      return Error("malformed offset '" + rest.substr(plus + 1) + "' in '" + text + "'", ErrorKind::parse);
    }
  }
  if (rest.empty()) return Error("missing symbol in '" + text + "'", ErrorKind::parse);
  loc.symbol = rest;
  return loc;
}

std::string Location::to_string() const {
  std::string s = module.empty() ? "" : module + ":";
  if (address) return s + hex(*address);
  s += symbol;
  if (offset) s += "+" + hex(offset);
  return s;
}

}  // namespace probekit
