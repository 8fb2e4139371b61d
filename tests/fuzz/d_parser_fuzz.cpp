// libFuzzer target for the D front end: lexer, parser and every pass must
// turn any input into a program or diagnostics, never a crash, a hang or a
// sanitizer report. Built only with clang (tests/unit/d/CMakeLists.txt):
//   cmake -DCMAKE_CXX_COMPILER=clang++ ... && ninja d_parser_fuzz
//   ./d_parser_fuzz -max_total_time=60 tests/d
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "d/program.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  probekit::d::CompileOptions opts;
  opts.target_pid = 1234;
  opts.macro_args = {"1", "two"};
  auto r = probekit::d::compile(text, "fuzz.d", opts);
  if (!r.ok()) {
    (void)r.diagnostics.render();
    return 0;
  }
  // A program that compiled must also survive BEGIN/END without a target.
  probekit::d::StringSink sink;
  r.program->set_output(&sink);
  r.program->begin();
  r.program->end();
  return 0;
}
