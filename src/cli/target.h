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

// SIGINT/SIGTERM/SIGHUP set the interrupted() flag and call session->stop()
// (none with nullptr). Installed before the target is touched, so a stop
// request during set-up (attaching, arming thousands of probes) ends it
// cleanly instead of killing probekit with the target's bytes patched.
void route_signals_to(Session* session);

// True once SIGINT/SIGTERM/SIGHUP arrived: set-up loops check it between
// steps and stop early.
bool interrupted();

// After a set-up error: kills the command probekit launched (-c) and reaps
// it, so no half-traced command outlives the error.
void end_launched(Session& session);

// The -c command ended with `status` (run()'s exit code, or 128+signal when
// `signal` killed it): says so on stderr ("probekit: pid N exited with
// status S" / "... was killed by SIGSEGV") unless quiet, and returns the exit
// code probekit should use: `code` when probekit itself failed or without
// `use_status`, otherwise the command's status (-x exitcode, --exit-code).
int command_ended(pid_t pid, int status, int signal, int code, bool use_status, bool quiet = false);

}  // namespace probekit::cli
