// kernel/perf_events.h — system-wide tracepoint events through
// perf_event_open, read from per-CPU ring buffers.
//
// The one idea: one ring per CPU. Every tracepoint is opened once per CPU
// (pid -1: every process) with PERF_SAMPLE_TID|TIME|CPU|RAW and sends its
// samples into that CPU's ring (PERF_EVENT_IOC_SET_OUTPUT), so a drain
// reads nrcpu rings whatever the number of probes. A sample's raw record
// begins with `common_type`, the tracepoint's id, which says which probe
// it is. Times are CLOCK_MONOTONIC (use_clockid), the clock the rest of
// probekit uses; a drain merges the rings by time so that events reach the
// program in the order they happened.
//
// execname: a sample carries pid and tid but no name, and a short-lived
// process is gone before its samples are read. So the first event of each
// CPU also asks for the kernel's COMM, FORK and EXIT records (attr.comm,
// attr.task), in the same rings, and the drain keeps tid -> comm up to
// date in time order (an exec's COMM record comes before its
// sched_process_exec sample); a thread seen first is looked up in
// /proc/TID/comm once. The same FORK records give each new process its
// parent (ppid), which /proc no longer has when a short-lived child's
// samples are read; a process seen first is looked up in /proc/PID/stat.
//
// CPU sampling (D's profile-N with no target): a PERF_COUNT_SW_CPU_CLOCK
// event per CPU (pid -1) with a fixed period, PERF_SAMPLE_IP, in the same
// rings. Its samples say where each CPU was, in the kernel or in a process
// (PERF_RECORD_MISC_USER/KERNEL), whatever runs there, idle included. Every
// event carries PERF_SAMPLE_IDENTIFIER (the sample's first word, and the
// last of every other record's sample_id trailer), so a drain knows which
// event a sample came from without the events sharing one sample layout.
//
// A ring that fills loses samples; the kernel says how many in
// PERF_RECORD_LOST, counted per CPU and reported as DTrace reports drops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/fd.h"
#include "util/result.h"

namespace probekit::kernel {

struct KernelEvent {
  enum class Kind : uint8_t { tracepoint, sample };
  Kind kind = Kind::tracepoint;
  uint32_t cpu = 0;
  int pid = 0;
  int tid = 0;
  uint64_t time_ns = 0;       // CLOCK_MONOTONIC
  uint32_t tracepoint = 0;    // the format's ID (common_type)
  const uint8_t* data = nullptr;  // the raw record (the format's offsets)
  size_t size = 0;
  std::string_view comm;      // the thread's name at the event
  int ppid = 0;               // the process's parent at the event (0: unknown)
  // Kind::sample: which sampler (its index in EventSet::sample_periods_ns),
  // the interrupted instruction and whether it was in the kernel.
  uint32_t sampler = 0;
  uint64_t ip = 0;
  bool in_kernel = false;
};

// What PerfEvents::open opens on every online CPU.
struct EventSet {
  std::vector<uint32_t> tracepoints;          // tracepoint ids (tracefs `id` files)
  std::vector<uint64_t> sample_periods_ns;    // CPU-clock samplers, one period each
  std::vector<int> sample_cpus;               // each sampler's one CPU, or -1 (absent): every CPU
};

class PerfEvents {
public:
  // Opens every event of the set on every online CPU and enables them.
  // pages_per_cpu: a power of two (the ring's data size in pages).
  static Result<std::unique_ptr<PerfEvents>> open(const EventSet& events, size_t pages_per_cpu = 128);
  ~PerfEvents();
  PerfEvents(const PerfEvents&) = delete;
  PerfEvents& operator=(const PerfEvents&) = delete;

  // Waits until a ring has data past its watermark, timeout_ms passed, or
  // a signal arrived.
  void wait(int timeout_ms);
  // Reads every ring and calls `fn` for each sample, in time order.
  // Returns the number of samples.
  size_t drain(const std::function<void(const KernelEvent&)>& fn);
  // Samples the kernel lost because a ring was full, per CPU.
  const std::vector<uint64_t>& lost() const { return lost_; }
  size_t cpu_count() const { return rings_.size(); }

private:
  struct Ring {
    uint32_t cpu = 0;
    void* base = nullptr;
    size_t map_size = 0;
    size_t data_size = 0;
    std::vector<Fd> fds;  // fds[0] owns the ring
  };
  struct Pending {  // one record copied out of a ring
    uint64_t time = 0;
    uint32_t cpu = 0;
    uint32_t type = 0;
    uint16_t misc = 0;   // the header's (cpu mode of a sample)
    int sampler = -1;    // a sampler's sample: its index in the set
    std::vector<uint8_t> bytes;
  };
  PerfEvents() = default;
  void read_ring(Ring& r, std::vector<Pending>& out);
  std::string_view comm_of(int tid);
  int parent_of(int pid);

  std::vector<Ring> rings_;
  std::vector<uint64_t> lost_;
  // PERF_EVENT_IOC_ID of each sampler's event -> its index in the set.
  std::unordered_map<uint64_t, uint32_t> samplers_;
  std::unordered_map<int, std::string> comms_;
  std::unordered_map<int, int> parents_;  // pid -> ppid, from FORK records (else /proc once)
};

// /proc/sys/kernel/perf_event_paranoid, or nullopt where it cannot be read.
std::optional<int> perf_event_paranoid();

// The CPUs online (/sys/devices/system/cpu/online).
std::vector<uint32_t> online_cpus();

}  // namespace probekit::kernel
