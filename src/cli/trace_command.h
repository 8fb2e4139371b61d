// cli/trace_command.h — `probekit trace`: the kernel's uprobe_events
// definitions, one line of ftrace-format output (or JSON) per hit.
#pragma once

namespace probekit::cli {

int trace_main(int argc, char** argv);

}  // namespace probekit::cli
