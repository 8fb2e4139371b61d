// Test doubles for the D runtime: a HitContext over a fake address space
// and symbol table, and a Host with a fake clock and a fixed random seed, so
// that D programs can be run without a live process and compared exactly.
#pragma once

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "d/program.h"
#include "util/strings.h"

namespace probekit::d::testing {

struct FakeSymbol {
  uint64_t address = 0;
  uint64_t size = 0;
  std::string name;
  std::string module = "a.out";
};

class FakeHit : public HitContext {
public:
  int pid_ = 1234, tid_ = 1234, ppid_ = 1, cpu_ = 0;
  std::string comm_ = "a.out";
  uint64_t ts_ = 0;
  SiteInfo site_;
  user_regs_struct regs_{};
  std::map<uint64_t, std::string> memory;  // region start -> bytes
  std::vector<FakeSymbol> symbols;
  bool destructive = false;
  std::vector<std::pair<uint64_t, std::string>> writes;

  int pid() const override { return pid_; }
  int tid() const override { return tid_; }
  int ppid() const override { return ppid_; }
  const std::string& comm() const override { return comm_; }
  int cpu() const override { return cpu_; }
  uint64_t timestamp_ns() const override { return ts_; }
  const SiteInfo& site() const override { return site_; }
  const user_regs_struct& regs() const override { return regs_; }
  Result<user_regs_struct*> mutable_regs() override {
    if (!destructive) return Error("registers are read-only", ErrorKind::permission);
    return &regs_;
  }
  user_fpregs_struct fp_{};
  Result<user_fpregs_struct> fpregs() const override { return fp_; }

  Result<size_t> read(uint64_t addr, void* buf, size_t len) const override {
    for (const auto& [start, bytes] : memory) {
      if (addr >= start && addr < start + bytes.size()) {
        size_t n = std::min(len, static_cast<size_t>(start + bytes.size() - addr));
        std::memcpy(buf, bytes.data() + (addr - start), n);
        return n;
      }
    }
    return Error("cannot read address " + hex(addr), ErrorKind::bad_address);
  }
  Result<std::string> read_string(uint64_t addr, size_t max) const override {
    std::string out;
    while (out.size() < max) {
      char c;
      auto n = read(addr + out.size(), &c, 1);
      if (!n || *n != 1) {
        if (out.empty()) return Error("cannot read address " + hex(addr), ErrorKind::bad_address);
        break;
      }
      if (c == '\0') break;
      out += c;
    }
    return out;
  }
  Status write(uint64_t addr, const void* buf, size_t len) override {
    if (!destructive) return Error("memory is read-only", ErrorKind::permission);
    writes.emplace_back(addr, std::string(static_cast<const char*>(buf), len));
    return {};
  }
  std::string symbolize(uint64_t addr, bool qualify_module) const override {
    for (const auto& s : symbols) {
      if (addr >= s.address && addr < s.address + s.size) {
        std::string out = qualify_module ? s.module + ":" : "";
        out += s.name;
        if (addr != s.address) out += "+" + hex(addr - s.address);
        return out;
      }
    }
    return hex(addr);
  }
  Result<uint64_t> lookup_symbol(const std::string& name) const override {
    for (const auto& s : symbols)
      if (s.name == name) return s.address;
    return Error("no symbol '" + name + "'", ErrorKind::no_such_symbol);
  }
};

class FakeHost : public Host {
public:
  uint64_t clock = 1000000000;
  std::vector<uint64_t> stack;
  std::vector<std::string> log;  // destructive actions performed

  uint64_t monotonic_ns() override { return clock; }
  uint64_t walltime_ns() override { return 1700000000000000000ULL + clock; }
  int tracer_pid() override { return 999; }
  int32_t cpu_chip(int cpu) override { return cpu + 100; }  // what only the host can say
  uint32_t uid_of(int) override { return 1000; }
  uint32_t gid_of(int) override { return 100; }
  ProcInfo proc_info(int pid, int) override {
    ProcInfo p;
    p.pid = pid;
    p.ppid = 1;  // as FakeHit::ppid()
    p.pgid = pid;
    p.sid = 7;
    p.nlwp = 2;
    p.uid = p.euid = 1000;
    p.gid = 100;
    p.egid = 101;
    p.psargs = "./target -v";
    p.argc = 2;
    p.argv = 0x7ffc00001008;
    p.envp = 0x7ffc00001020;
    p.state = 'S';
    p.prio = 120;
    return p;
  }
  bool walk = false;  // user_stack(): the frame-pointer walk through the hit's memory, not `stack`
  std::vector<uint64_t> user_stack(const HitContext& hit, int max_frames) override {
    if (walk) return Host::user_stack(hit, max_frames);
    std::vector<uint64_t> out = stack;
    if (static_cast<int>(out.size()) > max_frames) out.resize(static_cast<size_t>(max_frames));
    return out;
  }
  Status stop(FireContext&) override {
    log.push_back("stop");
    return {};
  }
  Status raise(FireContext&, int sig) override {
    log.push_back("raise " + std::to_string(sig));
    return {};
  }
  Status system(const std::string& cmd) override {
    log.push_back("system " + cmd);
    return {};
  }
  Status override_return(FireContext& ctx, int64_t v) override {
    log.push_back("override " + std::to_string(v));
    ctx.retval = v;
    return {};
  }
  uint64_t random_seed() override { return 42; }
};

}  // namespace probekit::d::testing
