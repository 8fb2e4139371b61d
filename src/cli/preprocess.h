// cli/preprocess.h — the C preprocessor over a D program (dtrace -C).
//
// The one idea: cpp does the work and the D lexer keeps the positions.
// The program goes to Debian's cpp on its standard input; what comes back
// carries cpp's line markers (`# 12 "file"`), which the D lexer hands to
// its Diagnostics, so an error in an #included file or after a
// multi-line #if is reported at the line the user wrote.
#pragma once

#include <string>
#include <vector>

#include "util/result.h"

namespace probekit::cli {

struct PreprocessOptions {
  std::vector<std::string> defines;   // -D NAME[=VALUE]
  std::vector<std::string> undefines; // -U NAME
  std::vector<std::string> includes;  // -I DIR
  std::vector<std::string> quote_dirs; // where #include "x.h" looks first (the scripts' directories)
  // dtrace-utils runs cpp with -std=c99 in every dialect but -Xs (which is
  // -traditional-cpp there): strict ISO C, so glibc's headers leave out
  // their GNU parts (endian.h's static inline byte swappers, which D's
  // grammar cannot hold). False for -x stdc=s.
  bool iso_c99 = true;
};

// The preprocessed text, or an error with cpp's own messages (its
// "<stdin>" named `file_name`). A `#!` first line is blanked first (cpp
// would reject it), keeping the line count.
Result<std::string> preprocess(const std::string& source, const std::string& file_name,
                               const PreprocessOptions& options);

}  // namespace probekit::cli
