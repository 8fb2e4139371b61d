#include "d/diagnostic.h"

#include <algorithm>

namespace probekit::d {

void Diagnostics::error(std::string id, Loc loc, std::string message) {
  if (errors_++ >= kMaxErrors) {
    ++dropped_;
    return;
  }
  list_.push_back(Diagnostic{Severity::error, std::move(id), std::move(message), loc});
}

void Diagnostics::warning(std::string id, Loc loc, std::string message) {
  list_.push_back(Diagnostic{Severity::warning, std::move(id), std::move(message), loc});
}

void Diagnostics::add_line_marker(int from, std::string file, int line) {
  // `#line N` without a file stays in the file of the marker before it.
  if (file.empty() && !markers_.empty()) file = markers_.back().file;
  markers_.push_back(LineMarker{from, std::move(file), line});
}

std::string Diagnostics::position(const Loc& loc) const {
  // Line 0: not from the program text (a -x option); no position.
  if (loc.line <= 0) return file_;
  std::string file = file_;
  int line = loc.line;
  for (const auto& m : markers_) {
    if (m.from > loc.line) break;
    file = m.file.empty() || m.file == "<stdin>" ? file_ : m.file;
    line = m.line + (loc.line - m.from);
  }
  return file + ":" + std::to_string(line) + ":" + std::to_string(loc.column);
}

std::string Diagnostics::render(const Diagnostic& d) const {
  std::string out = position(d.loc) + ": " + (d.severity == Severity::error ? "error: " : "warning: ") +
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
  size_t line_end = end == std::string::npos ? source_.size() : end;
  if (line_end == pos && d.loc.column <= 1) return out;
  // Each byte as shown: tabs kept (the caret line repeats them), other
  // control bytes as \xNN.
  auto shown = [](unsigned char c) -> std::string {
    if (c == '\t' || (c >= 0x20 && c != 0x7f)) return std::string(1, static_cast<char>(c));
    static const char digits[] = "0123456789abcdef";
    return std::string("\\x") + digits[c >> 4] + digits[c & 15];
  };
  // The window of the line shown: all of it when it fits, else about
  // kMaxLineWidth columns around the caret, "..." marking what is cut.
  size_t col = static_cast<size_t>(std::max(1, d.loc.column)) - 1;  // 0-based byte in the line
  size_t len = line_end - pos;
  auto width = [&](size_t i) { return shown(static_cast<unsigned char>(source_[pos + i])).size(); };
  size_t total = 0;
  for (size_t i = 0; i < len && total <= kMaxLineWidth; ++i) total += width(i);
  size_t from = 0, to = len, used = 0;
  if (total > kMaxLineWidth) {
    from = std::min(col, len);
    while (from > 0 && used + width(from - 1) <= kMaxLineWidth / 2) used += width(--from);
    to = from;
    used = 0;
    while (to < len && used + width(to) <= kMaxLineWidth) used += width(to++);
  }
  std::string text = from > 0 ? "..." : "";
  std::string pad(text.size(), ' ');
  std::string marks;
  int mark_len = std::max(1, d.loc.length);
  for (size_t i = from; i < to; ++i) {
    unsigned char c = static_cast<unsigned char>(source_[pos + i]);
    std::string s = shown(c);
    text += s;
    if (i < col) {
      pad += c == '\t' ? std::string("\t") : std::string(s.size(), ' ');
    } else if (i < col + static_cast<size_t>(mark_len)) {
      marks.append(1, i == col ? '^' : '~').append(s.size() - 1, '~');
    }
  }
  if (to < len) text += "...";
  if (to == len && col > len) pad += std::string(col - len, ' ');
  if (marks.empty()) marks = "^";  // the caret sits past the end of the line
  out += "  " + text + "\n  " + pad + marks + "\n";
  return out;
}

std::string Diagnostics::render() const {
  std::string out;
  for (const auto& d : list_) out += render(d);
  if (dropped_ > 0)
    out += file_ + ": error: too many errors; " + std::to_string(dropped_) + " more not shown [D_TOO_MANY]\n";
  return out;
}

}  // namespace probekit::d
