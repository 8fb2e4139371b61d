// A HitContext for tests: registers you set, a memory map with holes, a
// symbol table, and a count of symbol lookups (to check caching).
#pragma once

#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "probekit/hit_context.h"
#include "util/strings.h"

namespace probekit::testing {

class FakeHitContext : public HitContext {
public:
  user_regs_struct regs_{};
  std::map<uint64_t, std::vector<uint8_t>> memory;  // start -> bytes; gaps are unmapped
  std::map<std::string, uint64_t> symbols;          // name -> address
  std::string comm_ = "worker";
  SiteInfo site_;
  int pid_ = 100, tid_ = 101, cpu_ = 3;
  uint64_t timestamp_ = 258544995456789;
  mutable int lookups = 0;

  void map(uint64_t addr, std::vector<uint8_t> bytes) { memory[addr] = std::move(bytes); }
  void map_u64(uint64_t addr, uint64_t v) {
    std::vector<uint8_t> b(8);
    std::memcpy(b.data(), &v, 8);
    map(addr, b);
  }
  void map_string(uint64_t addr, const std::string& s) {
    std::vector<uint8_t> b(s.begin(), s.end());
    b.push_back(0);
    map(addr, b);
  }

  int pid() const override { return pid_; }
  int tid() const override { return tid_; }
  int ppid() const override { return 1; }
  const std::string& comm() const override { return comm_; }
  int cpu() const override { return cpu_; }
  uint64_t timestamp_ns() const override { return timestamp_; }
  const SiteInfo& site() const override { return site_; }
  const user_regs_struct& regs() const override { return regs_; }
  Result<user_regs_struct*> mutable_regs() override { return Error("not destructive", ErrorKind::permission); }
  std::optional<user_fpregs_struct> fpregs_;  // unset: reading fails
  Result<user_fpregs_struct> fpregs() const override {
    if (!fpregs_) return Error("no fpregs", ErrorKind::unsupported);
    return *fpregs_;
  }
  // Puts `bits` in the low 64 bits of xmm`n` (the upper half stays as is).
  void set_xmm(int n, uint64_t bits) {
    if (!fpregs_) fpregs_.emplace();
    fpregs_->xmm_space[4 * n] = static_cast<uint32_t>(bits);
    fpregs_->xmm_space[4 * n + 1] = static_cast<uint32_t>(bits >> 32);
  }

  bool byte_at(uint64_t addr, uint8_t& out) const {
    auto it = memory.upper_bound(addr);
    if (it == memory.begin()) return false;
    --it;
    if (addr - it->first >= it->second.size()) return false;
    out = it->second[addr - it->first];
    return true;
  }
  Result<size_t> read(uint64_t addr, void* buf, size_t len) const override {
    auto* p = static_cast<uint8_t*>(buf);
    size_t n = 0;
    for (; n < len; ++n)
      if (!byte_at(addr + n, p[n])) break;
    if (n == 0 && len > 0) return Error("bad address", ErrorKind::bad_address);
    return n;
  }
  Result<std::string> read_string(uint64_t addr, size_t max) const override {
    std::string s;
    for (size_t i = 0; i < max; ++i) {
      uint8_t c;
      if (!byte_at(addr + i, c)) {
        if (i == 0) return Error("bad address", ErrorKind::bad_address);
        break;
      }
      if (c == 0) break;
      s.push_back(static_cast<char>(c));
    }
    return s;
  }
  Status write(uint64_t, const void*, size_t) override { return Error("not destructive", ErrorKind::permission); }
  std::string symbolize(uint64_t addr, bool) const override {
    const std::string* best = nullptr;
    uint64_t best_addr = 0;
    for (const auto& [name, a] : symbols)
      if (a <= addr && (!best || a > best_addr)) {
        best = &name;
        best_addr = a;
      }
    if (!best) return hex(addr);
    return *best + "+" + hex(addr - best_addr);
  }
  Result<uint64_t> lookup_symbol(const std::string& name) const override {
    ++lookups;
    auto it = symbols.find(name);
    if (it == symbols.end()) return Error("no symbol '" + name + "'", ErrorKind::no_such_symbol);
    return it->second;
  }
};

}  // namespace probekit::testing
