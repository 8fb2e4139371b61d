// engine/record_context.h — the HitContext of a recorded hit (jump
// backend, Probe::capture).
//
// The one idea: a handler written for a trap hit runs unchanged on a
// record. The record holds what the handler may look at (the registers at
// the probed instruction, the memory the capture program read, the thread,
// the CPU and the TSC of the hit); this context serves the same questions
// from it, so that `probekit trace` formats a record through exactly the
// code that formats a trap hit, and the two backends print the same bytes.
#pragma once

#include <sys/user.h>

#include <cstdint>
#include <string>
#include <vector>

#include "agent/agent_abi.h"
#include "probekit/hit_context.h"
#include "probekit/probekit.h"

namespace probekit::engine {

class AddressSpace;

// TSC to CLOCK_MONOTONIC: the agent stamps records with rdtscp (a few ns,
// no system call); probekit converts by interpolating between two
// (tsc, monotonic) pairs it took itself: one at start, one at each drain,
// so every record converted lies between the two (constant, synchronised
// TSC, as Linux requires to use it as its clocksource).
class TscClock {
public:
  TscClock();
  void mark();
  uint64_t to_ns(uint64_t tsc) const;
  // A fixed line for the agent (dvm.h timestamp): ns = ns_base +
  // ((tsc - tsc_base) * mult >> 32), from a calibration of at least 10 ms
  // (waiting for it when the clock is younger).
  struct Line {
    uint64_t tsc_base = 0, ns_base = 0, mult = 0;
  };
  Line line();

private:
  static std::pair<uint64_t, uint64_t> sample();
  uint64_t tsc0_ = 0, ns0_ = 0, tsc1_ = 0, ns1_ = 0;
};

class RecordHitContext final : public HitContext {
public:
  // rec must stay valid while the context is used (during the drain).
  RecordHitContext(const pk_record& rec, const SiteInfo& site, const AddressSpace& as, const std::string& comm,
                   int ppid, uint64_t timestamp_ns);

  int pid() const override { return static_cast<int>(rec_.pid); }
  int tid() const override { return static_cast<int>(rec_.tid); }
  int ppid() const override { return ppid_; }
  const std::string& comm() const override { return comm_; }
  int cpu() const override { return static_cast<int>(rec_.cpu); }
  uint64_t timestamp_ns() const override { return ts_; }
  const SiteInfo& site() const override { return site_; }
  const user_regs_struct& regs() const override { return regs_; }
  Result<user_regs_struct*> mutable_regs() override;
  Result<user_fpregs_struct> fpregs() const override;
  Result<size_t> read(uint64_t addr, void* buf, size_t len) const override;
  Result<std::string> read_string(uint64_t addr, size_t max) const override;
  Status write(uint64_t addr, const void* buf, size_t len) override;
  std::string symbolize(uint64_t addr, bool qualify_module) const override;
  Result<uint64_t> lookup_symbol(const std::string& name) const override;

  // The registers a record keeps, as a user_regs_struct (the agent's
  // reg_value() gives the same words for the same record).
  static user_regs_struct regs_of(const pk_record& rec);
  // The user_regs_struct word of each register a record can keep, in the
  // record's order (agent_abi.h PK_RECORD_REGS).
  static constexpr int kRecordWord[PK_RECORD_REGS] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 18, 19, 21};

private:
  struct Item {
    const pk_item* head;
    const uint8_t* bytes;
  };
  const pk_record& rec_;
  const SiteInfo& site_;
  const AddressSpace& as_;
  const std::string& comm_;
  int ppid_;
  uint64_t ts_;
  user_regs_struct regs_{};
  std::vector<Item> items_;
};

// A PK_RECORD_DOUT record (what agent code asks the tracer to print, exit
// or report) as its probe's Probe::agent_output takes it; the items point
// into the record.
Probe::AgentOutput agent_output_of(const pk_record& rec, std::string comm, uint64_t timestamp_ns);

}  // namespace probekit::engine
