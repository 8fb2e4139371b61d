#include "d/diagnostic.h"

#include <algorithm>

namespace probekit::d {

void Diagnostics::error(std::string id, Loc loc, std::string message) {
  list_.push_back(Diagnostic{Severity::error, std::move(id), std::move(message), loc});
  ++errors_;
}

void Diagnostics::warning(std::string id, Loc loc, std::string message) {
  list_.push_back(Diagnostic{Severity::warning, std::move(id), std::move(message), loc});
}

std::string Diagnostics::render(const Diagnostic& d) const {
  // Line 0: not from the program text (a -x option); no position, no caret.
  std::string where = d.loc.line > 0 ? ":" + std::to_string(d.loc.line) + ":" + std::to_string(d.loc.column) : "";
  std::string out = file_ + where + ": " + (d.severity == Severity::error ? "error: " : "warning: ") +
                    d.message + " [" + d.id + "]\n";
  if (d.loc.line <= 0) return out;
  // Find the source line; tabs are kept so the caret lines up in a terminal.
  size_t pos = 0;
  for (int line = 1; line < d.loc.line && pos != std::string::npos; ++line) {
    pos = source_.find('\n', pos);
    if (pos != std::string::npos) ++pos;
  }
  if (pos == std::string::npos || pos > source_.size()) return out;
  size_t end = source_.find('\n', pos);
  std::string text = source_.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
  if (text.empty() && d.loc.column <= 1) return out;
  out += "  " + text + "\n  ";
  int col = std::max(1, d.loc.column);
  for (int i = 1; i < col; ++i) {
    size_t at = static_cast<size_t>(i - 1);
    out += at < text.size() && text[at] == '\t' ? '\t' : ' ';
  }
  out += '^';
  int avail = static_cast<int>(text.size()) - col;
  int len = std::min(d.loc.length - 1, std::max(0, avail));
  out += std::string(static_cast<size_t>(std::max(0, len)), '~');
  out += "\n";
  return out;
}

std::string Diagnostics::render() const {
  std::string out;
  for (const auto& d : list_) out += render(d);
  return out;
}

}  // namespace probekit::d
