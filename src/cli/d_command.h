// cli/d_command.h — the dtrace-style command line: `probekit [-p PID | -c CMD]
// (-n PROG | -s FILE)... [-q] [-w] [-Z] [-F] [-f text|json] [-o FILE]
// [-x OPT[=VAL]]... [ARGS...]` and `probekit -l [-v] [-n DESC] [-p|-c]`.
#pragma once

namespace probekit::cli {

int d_main(int argc, char** argv);

}  // namespace probekit::cli
