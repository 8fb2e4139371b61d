// engine/hit_context_impl.h — the HitContext handlers see in the trap backend.
//
// Built on the tracer's stack for one hit while the hitting thread is
// stopped; everything costly (fpregs, cpu, comm) is read lazily, so a
// handler that only looks at rdi costs nothing more than the GETREGS the
// hit already did.
#pragma once

#include <sys/user.h>

#include <optional>

#include "engine/trap_backend.h"
#include "probekit/hit_context.h"

namespace probekit::engine {

class HitContextImpl : public HitContext {
public:
  HitContextImpl(Thread& t, const SiteInfo& site, user_regs_struct& regs, uint64_t ts, int ppid)
      : t_(t), site_(site), regs_(regs), ts_(ts), ppid_(ppid) {}

  void set_destructive(bool d) { destructive_ = d; }
  bool regs_changed() const { return regs_changed_; }

  int pid() const override { return t_.tgid; }
  int tid() const override { return t_.tid; }
  int ppid() const override { return ppid_; }
  const std::string& comm() const override;
  int cpu() const override;
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
  // Only at a function's entry (offset 0, or 4 after endbr64), before the
  // instruction ran: rax = value, `ret` emulated, the instruction skipped.
  Status override_return(uint64_t value) override;

private:
  Thread& t_;
  const SiteInfo& site_;
  user_regs_struct& regs_;
  uint64_t ts_;
  int ppid_;
  bool destructive_ = false;
  bool regs_changed_ = false;
  mutable std::optional<int> cpu_;
};

}  // namespace probekit::engine
