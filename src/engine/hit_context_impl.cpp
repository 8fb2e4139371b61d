#include "engine/hit_context_impl.h"

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
    auto text = read_file("/proc/" + std::to_string(t_.tgid) + "/task/" + std::to_string(t_.tid) + "/stat");
    if (text) {
      // Field 2 (comm) may contain blanks: count fields after the last ')'.
      auto close = text->rfind(')');
      if (close != std::string::npos) {
        auto fields = split_ws(std::string_view(*text).substr(close + 1));
        // fields[0] is field 3 (state); processor is field 39.
        if (fields.size() > 36) {
          if (auto v = parse_int(fields[36])) cpu_ = static_cast<int>(*v);
        }
      }
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

}  // namespace probekit::engine
