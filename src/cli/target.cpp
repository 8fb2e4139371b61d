#include "cli/target.h"

#include <signal.h>

#include <cstdio>
#include <cstring>
#include <atomic>

#include "cli/report.h"

namespace probekit::cli {

namespace {
std::atomic<Session*> g_session{nullptr};
volatile sig_atomic_t g_interrupted = 0;

void on_signal(int) {
  g_interrupted = 1;
  if (Session* s = g_session.load()) s->stop();
}
}  // namespace

Result<std::unique_ptr<Session>> open_target(const TargetOptions& target, const LaunchOptions& launch) {
  if (target.pid && !target.command.empty())
    return Error("-p and -c cannot be used together; give one target", ErrorKind::usage);
  if (target.pid) {
    if (*target.pid <= 0)
      return Error("invalid process id " + std::to_string(*target.pid), ErrorKind::usage);
    return Session::attach(*target.pid, launch);
  }
  auto argv = split_command(target.command);
  if (!argv) return argv.error();
  return Session::launch(*argv, launch);
}

void route_signals_to(Session* session) {
  g_session.store(session);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking waits return EINTR
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

bool interrupted() { return g_interrupted != 0; }

void end_launched(Session& session) {
  if (::kill(session.pid(), SIGKILL) != 0) return;
  // The session is its tracer: running it collects the exit (a few rounds
  // at most: SIGKILL cannot be caught or held).
  for (int i = 0; i < 50; ++i) {
    auto r = session.run(0.1);
    if (!r || *r >= 0) return;
  }
}

int command_ended(pid_t pid, int status, int signal, int code, bool use_status, bool quiet) {
  if (!quiet) {
    if (signal > 0) {
      const char* name = sigabbrev_np(signal);
      std::fprintf(stderr, "probekit: pid %d was killed by %s%s\n", static_cast<int>(pid), name ? "SIG" : "signal ",
                   name ? name : std::to_string(signal).c_str());
    } else {
      std::fprintf(stderr, "probekit: pid %d exited with status %d\n", static_cast<int>(pid), status);
    }
  }
  if (code != exit_ok || !use_status) return code;
  return status;
}

}  // namespace probekit::cli
