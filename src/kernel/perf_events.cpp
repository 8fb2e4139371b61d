#include "kernel/perf_events.h"

#include <linux/perf_event.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "kernel/tracefs.h"
#include "util/strings.h"

namespace probekit::kernel {

namespace {

// Every event: who, when, where, and which event (PERF_SAMPLE_IDENTIFIER).
constexpr uint64_t kCommonSampleType =
    PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU;
// A tracepoint's sample: {id, pid, tid, time, cpu, res, raw size, raw}.
constexpr uint64_t kTracepointSampleType = kCommonSampleType | PERF_SAMPLE_RAW;
// A sampler's: {id, ip, pid, tid, time, cpu, res}.
constexpr uint64_t kSamplerSampleType = kCommonSampleType | PERF_SAMPLE_IP;
// sample_id_all's trailer, the same for both: {pid, tid}, time, {cpu, res}, id.
constexpr size_t kSampleIdSize = 32;

int perf_event_open(perf_event_attr* attr, int cpu, int group_fd) {
  return static_cast<int>(::syscall(SYS_perf_event_open, attr, -1, cpu, group_fd, PERF_FLAG_FD_CLOEXEC));
}

std::string paranoid_text() {
  auto level = perf_event_paranoid();
  return level ? std::to_string(*level) : std::string("unreadable");
}

}  // namespace

std::optional<int> perf_event_paranoid() {
  auto text = read_file("/proc/sys/kernel/perf_event_paranoid", 64);
  if (!text) return std::nullopt;
  std::string t(trim(*text));
  bool negative = !t.empty() && t[0] == '-';
  auto v = parse_uint(negative ? t.substr(1) : t, 10);
  if (!v || *v > 1000) return std::nullopt;
  return negative ? -static_cast<int>(*v) : static_cast<int>(*v);
}

std::vector<uint32_t> online_cpus() {
  std::vector<uint32_t> cpus;
  auto text = read_file("/sys/devices/system/cpu/online", 4096);
  if (text) {
    for (const auto& range : split(trim(*text), ',')) {
      auto parts = split(range, '-');
      auto lo = parse_uint(parts[0], 10);
      auto hi = parts.size() > 1 ? parse_uint(parts[1], 10) : lo;
      if (!lo || !hi) continue;
      for (uint64_t c = *lo; c <= *hi && c < 4096; ++c) cpus.push_back(static_cast<uint32_t>(c));
    }
  }
  if (cpus.empty()) {
    long n = ::sysconf(_SC_NPROCESSORS_ONLN);
    for (long c = 0; c < std::max(1L, n); ++c) cpus.push_back(static_cast<uint32_t>(c));
  }
  return cpus;
}

Result<std::unique_ptr<PerfEvents>> PerfEvents::open(const EventSet& events, size_t pages_per_cpu) {
  std::unique_ptr<PerfEvents> pe(new PerfEvents());
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t count = events.tracepoints.size() + events.sample_periods_ns.size();
  for (uint32_t cpu : online_cpus()) {
    // In the table before anything is mapped: an error return unmaps it.
    Ring& ring = pe->rings_.emplace_back();
    ring.cpu = cpu;
    for (size_t i = 0; i < count; ++i) {
      const bool sampler = i >= events.tracepoints.size();
      const size_t index = sampler ? i - events.tracepoints.size() : i;
      if (sampler && index < events.sample_cpus.size() && events.sample_cpus[index] >= 0 &&
          static_cast<uint32_t>(events.sample_cpus[index]) != cpu)
        continue;  // a one-CPU sampler (D's tick-N), elsewhere
      perf_event_attr attr{};
      attr.size = sizeof attr;
      if (sampler) {
        attr.type = PERF_TYPE_SOFTWARE;
        attr.config = PERF_COUNT_SW_CPU_CLOCK;
        attr.sample_period = std::max<uint64_t>(events.sample_periods_ns[index], 1);  // ns of CPU clock
        attr.sample_type = kSamplerSampleType;
      } else {
        attr.type = PERF_TYPE_TRACEPOINT;
        attr.config = events.tracepoints[index];
        attr.sample_period = 1;
        attr.sample_type = kTracepointSampleType;
      }
      attr.disabled = 1;
      attr.sample_id_all = 1;
      attr.use_clockid = 1;
      attr.clockid = CLOCK_MONOTONIC;
      attr.watermark = 1;
      attr.wakeup_watermark = static_cast<uint32_t>(pages_per_cpu * page / 4);
      if (ring.fds.empty()) {  // the names of threads: COMM, FORK, EXIT records
        attr.comm = 1;
        attr.comm_exec = 1;
        attr.task = 1;
      }
      int fd = perf_event_open(&attr, static_cast<int>(cpu), -1);
      if (fd < 0) {
        int err = errno;
        if ((err == EACCES || err == EPERM) && sampler)
          return Error("sampling every CPU needs root or CAP_PERFMON, or kernel.perf_event_paranoid at 0 or "
                       "below (it is " + paranoid_text() + "): perf_event_open refused (" +
                           std::string(std::strerror(err)) + ")",
                       ErrorKind::permission, err);
        if (err == EACCES || err == EPERM)
          return Error("kernel tracepoints need root or CAP_PERFMON: perf_event_open refused (" +
                           std::string(std::strerror(err)) + ")",
                       ErrorKind::permission, err);
        if (err == ENODEV && cpu != 0) continue;  // a CPU gone offline meanwhile
        if (sampler)
          return Error::from_errno("perf_event_open of a CPU-clock sampling event on CPU " + std::to_string(cpu) +
                                       " (a kernel without software perf events?)",
                                   err);
        return Error::from_errno("perf_event_open of tracepoint id " + std::to_string(events.tracepoints[index]) +
                                     " on CPU " + std::to_string(cpu),
                                 err);
      }
      ring.fds.emplace_back(fd);
      if (sampler) {
        uint64_t id = 0;
        if (::ioctl(fd, PERF_EVENT_IOC_ID, &id) != 0)
          return Error::from_errno("PERF_EVENT_IOC_ID on CPU " + std::to_string(cpu), errno);
        pe->samplers_[id] = static_cast<uint32_t>(index);
      }
      if (ring.fds.size() == 1) {
        // The ring exists once mapped; only then can other events send to it.
        ring.data_size = pages_per_cpu * page;
        ring.map_size = ring.data_size + page;
        void* base = ::mmap(nullptr, ring.map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (base == MAP_FAILED) {
          int err = errno;
          return Error::from_errno("mapping the perf ring of CPU " + std::to_string(cpu) +
                                       (err == EPERM ? " (perf_event_mlock_kb too small?)" : ""),
                                   err);
        }
        ring.base = base;
      } else if (::ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, ring.fds[0].get()) != 0) {
        return Error::from_errno("PERF_EVENT_IOC_SET_OUTPUT on CPU " + std::to_string(cpu), errno);
      }
    }
    if (ring.fds.empty()) pe->rings_.pop_back();
  }
  pe->lost_.assign(pe->rings_.size(), 0);
  for (auto& r : pe->rings_)
    for (auto& fd : r.fds)
      if (::ioctl(fd.get(), PERF_EVENT_IOC_ENABLE, 0) != 0)
        return Error::from_errno("enabling a perf event on CPU " + std::to_string(r.cpu), errno);
  return pe;
}

PerfEvents::~PerfEvents() {
  for (auto& r : rings_) {
    for (auto& fd : r.fds) (void)::ioctl(fd.get(), PERF_EVENT_IOC_DISABLE, 0);
    if (r.base) ::munmap(r.base, r.map_size);
  }
}

void PerfEvents::wait(int timeout_ms) {
  std::vector<pollfd> fds;
  for (auto& r : rings_) fds.push_back({r.fds[0].get(), POLLIN, 0});
  (void)::poll(fds.data(), fds.size(), timeout_ms);
}

void PerfEvents::read_ring(Ring& r, std::vector<Pending>& out) {
  auto* meta = static_cast<perf_event_mmap_page*>(r.base);
  const auto* data = static_cast<const uint8_t*>(r.base) + meta->data_offset;
  const uint64_t size = meta->data_size ? meta->data_size : r.data_size;
  uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
  uint64_t tail = meta->data_tail;
  auto copy = [&](uint64_t at, void* dst, size_t len) {
    auto* d = static_cast<uint8_t*>(dst);
    for (size_t done = 0; done < len;) {
      uint64_t off = (at + done) % size;
      size_t n = std::min<uint64_t>(len - done, size - off);
      std::memcpy(d + done, data + off, n);
      done += n;
    }
  };
  const size_t ring_index = static_cast<size_t>(&r - rings_.data());
  while (tail + sizeof(perf_event_header) <= head) {
    perf_event_header h{};
    copy(tail, &h, sizeof h);
    if (h.size < sizeof h || tail + h.size > head) break;
    std::vector<uint8_t> rec(h.size);
    copy(tail, rec.data(), h.size);
    tail += h.size;
    const uint8_t* body = rec.data() + sizeof h;
    const size_t body_size = h.size - sizeof h;
    Pending p;
    p.cpu = r.cpu;
    p.type = h.type;
    p.misc = h.misc;
    if (h.type == PERF_RECORD_SAMPLE) {
      uint64_t id = 0;
      if (body_size < 8) continue;
      std::memcpy(&id, body, 8);
      auto s = samplers_.find(id);
      if (s != samplers_.end()) p.sampler = static_cast<int>(s->second);
      // {id, [ip,] pid, tid, time, cpu, res, ...}
      const size_t at = p.sampler >= 0 ? 8 + 8 : 8;
      if (body_size < at + 8 + 8 + 8 + (p.sampler >= 0 ? 0 : 4)) continue;
      std::memcpy(&p.time, body + at + 8, 8);
    } else if (h.type == PERF_RECORD_LOST) {
      uint64_t lost = 0;
      if (body_size >= 16) std::memcpy(&lost, body + 8, 8);
      lost_[ring_index] += lost;
      continue;
    } else if (h.type == PERF_RECORD_COMM || h.type == PERF_RECORD_FORK || h.type == PERF_RECORD_EXIT) {
      if (body_size < kSampleIdSize + 8) continue;
      std::memcpy(&p.time, body + body_size - kSampleIdSize + 8, 8);
    } else {
      continue;
    }
    p.bytes.assign(body, body + body_size);
    out.push_back(std::move(p));
  }
  __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
}

std::string_view PerfEvents::comm_of(int tid) {
  auto it = comms_.find(tid);
  if (it != comms_.end()) return it->second;
  std::string name;
  if (auto text = read_file("/proc/" + std::to_string(tid) + "/comm", 64)) name = std::string(trim(*text));
  if (name.empty()) name = tid == 0 ? "swapper" : "<unknown>";
  return comms_.emplace(tid, std::move(name)).first->second;
}

int PerfEvents::parent_of(int pid) {
  if (pid <= 0) return 0;  // the idle task
  auto it = parents_.find(pid);
  if (it != parents_.end()) return it->second;
  int ppid = 0;
  // /proc/PID/stat: "pid (comm) state ppid ...", comm may hold spaces and ')'.
  if (auto text = read_file("/proc/" + std::to_string(pid) + "/stat", 4096)) {
    const size_t close = text->rfind(')');
    if (close != std::string::npos) {
      char state = 0;
      if (std::sscanf(text->c_str() + close + 1, " %c %d", &state, &ppid) != 2) ppid = 0;
    }
  }
  return parents_.emplace(pid, ppid).first->second;
}

size_t PerfEvents::drain(const std::function<void(const KernelEvent&)>& fn) {
  std::vector<Pending> records;
  for (auto& r : rings_) read_ring(r, records);
  std::stable_sort(records.begin(), records.end(), [](const Pending& a, const Pending& b) { return a.time < b.time; });
  size_t samples = 0;
  for (const auto& p : records) {
    const uint8_t* b = p.bytes.data();
    uint32_t pid = 0, tid = 0;
    std::memcpy(&pid, b, 4);
    std::memcpy(&tid, b + 4, 4);
    if (p.type == PERF_RECORD_COMM) {
      const char* name = reinterpret_cast<const char*>(b + 8);
      size_t max = p.bytes.size() - kSampleIdSize - 8;
      comms_[static_cast<int>(tid)] = std::string(name, strnlen(name, max));
      continue;
    }
    if (p.type == PERF_RECORD_FORK || p.type == PERF_RECORD_EXIT) {
      // {pid, ppid, tid, ptid, time}
      uint32_t parent_pid = 0, child_tid = 0, parent_tid = 0;
      std::memcpy(&parent_pid, b + 4, 4);
      std::memcpy(&child_tid, b + 8, 4);
      std::memcpy(&parent_tid, b + 12, 4);
      const bool process = pid == child_tid;  // a new process (or its end), not a thread's
      if (p.type == PERF_RECORD_FORK) {
        std::string parent(comm_of(static_cast<int>(parent_tid)));
        comms_[static_cast<int>(child_tid)] = std::move(parent);
        if (process) parents_[static_cast<int>(pid)] = static_cast<int>(parent_pid);
      } else {
        comms_.erase(static_cast<int>(child_tid));
        if (process) parents_.erase(static_cast<int>(pid));
      }
      continue;
    }
    // A sample: {id, [ip,] pid, tid, time, cpu, res, [raw size, raw]}.
    KernelEvent ev;
    const uint8_t* at = b + 8;
    if (p.sampler >= 0) {
      ev.kind = KernelEvent::Kind::sample;
      ev.sampler = static_cast<uint32_t>(p.sampler);
      std::memcpy(&ev.ip, at, 8);
      ev.in_kernel = (p.misc & PERF_RECORD_MISC_CPUMODE_MASK) != PERF_RECORD_MISC_USER;
      at += 8;
    }
    std::memcpy(&pid, at, 4);
    std::memcpy(&tid, at + 4, 4);
    ev.pid = static_cast<int>(pid);
    ev.tid = static_cast<int>(tid);
    std::memcpy(&ev.time_ns, at + 8, 8);
    std::memcpy(&ev.cpu, at + 16, 4);
    if (p.sampler < 0) {
      const size_t raw_at = static_cast<size_t>(at + 24 - b);
      uint32_t raw_size = 0;
      std::memcpy(&raw_size, at + 24, 4);
      if (raw_at + 4 + uint64_t{raw_size} > p.bytes.size() || raw_size < 2) continue;
      ev.data = at + 28;
      ev.size = raw_size;
      uint16_t type = 0;
      std::memcpy(&type, ev.data, 2);
      ev.tracepoint = type;
    }
    ev.comm = comm_of(ev.tid);
    ev.ppid = parent_of(ev.pid);
    ++samples;
    fn(ev);
  }
  return samples;
}

}  // namespace probekit::kernel
