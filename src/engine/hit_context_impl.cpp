#include "engine/hit_context_impl.h"

#include <cstring>

#include "proc/ptrace.h"
#include "util/fd.h"
#include "util/strings.h"

namespace probekit::engine {

const std::string& HitContextImpl::comm() const {
  if (!t_.comm_loaded) {
    auto text = read_file("/proc/" + std::to_string(t_.tid) + "/comm");
    t_.comm = text ? std::string(trim(*text)) : std::string();
    t_.comm_loaded = true;
  }
  return t_.comm;
}

int HitContextImpl::cpu() const {
  if (!cpu_) {
    cpu_ = -1;
    auto fields = read_stat_fields("/proc/" + std::to_string(t_.tgid) + "/task/" + std::to_string(t_.tid) + "/stat");
    // fields[0] is field 3 (state); processor is field 39.
    if (fields.size() > 36) {
      if (auto v = parse_int(fields[36])) cpu_ = static_cast<int>(*v);
    }
  }
  return *cpu_;
}

Result<user_regs_struct*> HitContextImpl::mutable_regs() {
  if (!destructive_) {
    return Error("registers are read-only; register the probe with destructive = true to change them",
                 ErrorKind::permission);
  }
  regs_changed_ = true;
  return &regs_;
}

Result<user_fpregs_struct> HitContextImpl::fpregs() const { return proc::get_fpregs(t_.tid); }

Result<size_t> HitContextImpl::read(uint64_t addr, void* buf, size_t len) const {
  auto n = t_.as->memory().read(addr, buf, len);
  if (!n) return n.error();
  // Show the program's bytes, not our int3s.
  auto* bytes = static_cast<uint8_t*>(buf);
  const auto& sites = t_.as->sites();
  for (auto it = sites.lower_bound(addr); it != sites.end() && it->first < addr + *n; ++it) {
    if (it->second->armed) bytes[it->first - addr] = it->second->original_byte;
  }
  return n;
}

Result<std::string> HitContextImpl::read_string(uint64_t addr, size_t max) const {
  return t_.as->memory().read_string(addr, max);
}

Status HitContextImpl::write(uint64_t addr, const void* buf, size_t len) {
  if (!destructive_) {
    return Error("memory is read-only; register the probe with destructive = true to write it",
                 ErrorKind::permission);
  }
  return t_.as->memory().write(addr, buf, len);
}

std::string HitContextImpl::symbolize(uint64_t addr, bool qualify_module) const {
  return t_.as->symbolize(addr, qualify_module);
}

Result<uint64_t> HitContextImpl::lookup_symbol(const std::string& name) const {
  return t_.as->lookup_symbol(name);
}

Status HitContextImpl::override_return(uint64_t value) {
  if (!destructive_) {
    return Error("override_return changes the program: register the probe with destructive = true (-w)",
                 ErrorKind::permission);
  }
  // Only where the callee has done nothing yet: [rsp] is the return address
  // and no callee-saved register or stack slot has been touched.
  bool entry = site_.symbol_address != 0 && regs_.rip == site_.address && site_.offset == 0;
  if (!entry && site_.symbol_address && regs_.rip == site_.address && site_.offset == 4) {
    uint8_t head[4] = {};
    static constexpr uint8_t kEndbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};
    entry = t_.as->read_original(site_.symbol_address, head, 4) && std::memcmp(head, kEndbr64, 4) == 0;
  }
  if (!entry) {
    std::string where = site_.symbol.empty() ? hex(site_.address)
                                             : "'" + site_.symbol + "+" + hex(site_.offset) + "'";
    return Error("override is only possible at a function's entry or return; " + where + " is neither",
                 ErrorKind::usage);
  }
  uint64_t ret = 0;
  PK_TRY(t_.as->memory().read_exact(regs_.rsp, &ret, sizeof ret));
  regs_.rax = value;
  regs_.rip = ret;  // emulate `ret`: the probed instruction never runs
  regs_.rsp += 8;
  regs_changed_ = true;
  return {};
}

}  // namespace probekit::engine
