// cli/target.h — the process a probekit command works on: `-p PID` or
// `-c 'CMD ARGS'`, opened as an engine Session, and the tracer's own signal
// handling (SIGINT, SIGTERM, SIGHUP end tracing cleanly: run() returns, the
// session detaches and restores every byte).
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "probekit/probekit.h"

namespace probekit::cli {

struct TargetOptions {
  std::optional<pid_t> pid;
  std::string command;
  bool has_target() const { return pid.has_value() || !command.empty(); }
};

// Checks -p/-c (both given is a usage error) and opens the session;
// `launch` applies to -c only.
Result<std::unique_ptr<Session>> open_target(const TargetOptions& target, const LaunchOptions& launch = {});

// While a session runs: SIGINT/SIGTERM/SIGHUP call session->stop(). Passing
// nullptr restores the default dispositions.
void route_signals_to(Session* session);

// True once SIGINT/SIGTERM/SIGHUP arrived (for loops without a session).
bool interrupted();

}  // namespace probekit::cli
