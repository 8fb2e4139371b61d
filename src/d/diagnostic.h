// d/diagnostic.h — what the D front end says about a program it rejects.
//
// Every pass reports into one Diagnostics list instead of stopping at the
// first problem (DTrace stops at the first error with a longjmp; Clang and
// bpftrace collect). The pass manager stops after the first pass that
// reported an error, so the user sees every error of that pass, and none of
// the follow-on noise a later pass would produce from a broken tree.
//
// Each diagnostic carries a stable id — DTrace's D_* tag where one exists —
// that the error corpus (tests/d/err.D_ID.*.d) and scripts can rely on while
// the wording improves. Wording rule: lowercase, no trailing period, names in
// quotes, say what to do.
//
// Bounded, as compilers are: after kMaxErrors errors the rest are only
// counted ("too many errors"), and a long source line is shown as a window
// of about kMaxLineWidth columns around the caret, control bytes escaped
// (\x1b) so the text cannot drive the terminal. A file of garbage then costs
// a screenful, not a rendering of the whole line per error.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace probekit::d {

// A span in the program text: 1-based line and column, length in bytes.
struct Loc {
  int line = 1;
  int column = 1;
  int length = 1;
};

enum class Severity { error, warning };

struct Diagnostic {
  Severity severity = Severity::error;
  std::string id;  // "D_SYNTAX", "D_IDENT_UNDEF", ...
  std::string message;
  Loc loc;
};

class Diagnostics {
public:
  Diagnostics() = default;
  // file: the name printed before ":LINE:COL" ("<command line>" for -n);
  // source: the whole text, to print the offending line under the message.
  Diagnostics(std::string file, std::string source)
      : file_(std::move(file)), source_(std::move(source)) {}

  static constexpr int kMaxErrors = 20;
  static constexpr size_t kMaxLineWidth = 100;

  void error(std::string id, Loc loc, std::string message);
  void warning(std::string id, Loc loc, std::string message);

  // The C preprocessor's line markers (-C): physical line `from` of the
  // source (and those after it) is line `line` of `file` ("" or "<stdin>":
  // the program itself). Positions are printed as the original file's.
  void add_line_marker(int from, std::string file, int line);

  // Whether a line marker names a file whose last path component is
  // `name` (a -L library is preceded by one: "#line 1 \"DIR/net.d\"").
  bool has_marked_file(const std::string& name) const {
    for (const auto& m : markers_) {
      const size_t slash = m.file.rfind('/');
      if ((slash == std::string::npos ? m.file : m.file.substr(slash + 1)) == name) return true;
    }
    return false;
  }

  bool has_errors() const { return errors_ > 0; }
  int error_count() const { return errors_; }
  // Errors reported beyond kMaxErrors: counted, not kept.
  int dropped() const { return dropped_; }
  const std::vector<Diagnostic>& all() const { return list_; }
  const std::string& file() const { return file_; }
  const std::string& source() const { return source_; }

  // "FILE:LINE:COL: error: MESSAGE [D_ID]\n  <source line>\n  ^~~~\n" for
  // each diagnostic, in the order reported.
  std::string render() const;
  std::string render(const Diagnostic& d) const;

private:
  struct LineMarker {
    int from;
    std::string file;
    int line;
  };
  // "FILE:LINE:COL" for a physical position, through the line markers.
  std::string position(const Loc& loc) const;

  std::string file_ = "<command line>";
  std::vector<LineMarker> markers_;
  std::string source_;
  std::vector<Diagnostic> list_;
  int errors_ = 0;
  int dropped_ = 0;
};

}  // namespace probekit::d
