// cli/main.cpp — the probekit command: `probekit trace ...` for
// uprobe_events-style definitions, everything else is the dtrace-style
// command line. The last-resort catch turns an unexpected exception into an
// error message and exit code 1 instead of a crash (the session's
// destructor has already restored the target by then).
#include <cstdio>
#include <cstring>
#include <exception>

#include "cli/d_command.h"
#include "cli/report.h"
#include "cli/trace_command.h"

int main(int argc, char** argv) {
  try {
    if (argc > 1 && std::strcmp(argv[1], "trace") == 0)
      return probekit::cli::trace_main(argc - 1, argv + 1);
    return probekit::cli::d_main(argc, argv);
  } catch (const std::exception& e) {
    probekit::cli::report_error("internal", e.what());
    return probekit::cli::exit_runtime;
  }
}
