// engine/sampler.h — periodic work on the tracer thread: profile samplers
// (D's profile-N) and timers (D's tick-N).
//
// The one idea: nothing runs on another thread and no signal is sent to the
// target. The Session's wait loop already wakes periodically (a POSIX timer
// sending its wake signal to the tracer thread interrupts waitpid); the
// Ticker tells it how often (the shortest period registered) and, after
// every stop or wake-up, what is due: timer callbacks run right there; a
// sampling round makes the Session PTRACE_INTERRUPT every running thread and
// mark it, and each marked thread's interrupt stop becomes one sample
// (GETREGS, handler, resume). The cost of a sample is one stop per thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <set>

#include "probekit/probekit.h"

namespace probekit::engine {

class Ticker {
public:
  // period_ns > 0. Samplers take handler, timers take callback.
  void add_sampler(ProbeId id, uint64_t period_ns, PreHandler handler, uint64_t now);
  void add_timer(ProbeId id, uint64_t period_ns, std::function<void()> callback, uint64_t now);
  bool owns(ProbeId id) const { return entries_.count(id) != 0; }
  bool has_samplers() const {
    for (const auto& [id, e] : entries_)
      if (e.handler) return true;
    return false;
  }
  Status set_enabled(ProbeId id, bool enabled, uint64_t now);
  void remove(ProbeId id) { entries_.erase(id); }
  ProbeStats stats(ProbeId id) const;
  void clear();

  // The shortest period of an enabled entry, 0 when there is none.
  uint64_t min_period_ns() const;

  // Runs the due timer callbacks; returns true when a sampling round is due
  // (the caller then interrupts the threads and calls mark() for each).
  bool poll(uint64_t now);

  void mark(pid_t tid) { pending_.insert(tid); }
  // At an interrupt stop: whether tid was interrupted for a sample.
  bool take(pid_t tid) { return pending_.erase(tid) != 0; }
  void forget(pid_t tid) { pending_.erase(tid); }
  // Runs the enabled samplers' handlers for one thread's sample.
  void sample(HitContext& ctx);
  uint64_t samples() const { return samples_; }

private:
  struct Entry {
    uint64_t period_ns = 0;
    uint64_t next_due = 0;
    bool enabled = true;
    uint64_t hits = 0;
    PreHandler handler;              // sampler
    std::function<void()> callback;  // timer
  };
  std::map<ProbeId, Entry> entries_;
  std::set<pid_t> pending_;
  uint64_t samples_ = 0;
};

}  // namespace probekit::engine
