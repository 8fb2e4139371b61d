#include "engine/address_space.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "util/fd.h"
#include "util/strings.h"

namespace probekit::engine {

namespace {

std::string basename_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string real_path(const std::string& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf)) return buf;
  return p;
}

// Link-time address of the byte at file offset `offset` (a mapping's start).
std::optional<uint64_t> link_vaddr_of_offset(const elf::ElfFile& f, uint64_t offset) {
  for (const auto& s : f.segments()) {
    uint64_t seg_page = s.offset & ~uint64_t{4095};
    if (offset >= seg_page && offset < s.offset + std::max(s.filesz, uint64_t{1})) {
      return s.vaddr - (s.offset - offset);
    }
  }
  return std::nullopt;
}

}  // namespace

std::shared_ptr<const elf::ElfFile> load_elf(const std::string& path, uint64_t inode) {
  static std::mutex mu;
  static std::map<std::pair<std::string, uint64_t>, std::shared_ptr<const elf::ElfFile>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_pair(path, inode);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  auto f = elf::ElfFile::open(path);
  std::shared_ptr<const elf::ElfFile> v = f ? *f : nullptr;
  cache[key] = v;
  return v;
}

namespace {

// The one module-naming rule, for the engine's Module and the API's ModuleInfo.
bool spec_names(const std::string& spec, const std::string& name, const std::string& path, bool is_main) {
  if (spec.empty()) return true;
  if (spec == "a.out") return is_main;
  if (spec.find('/') != std::string::npos) return path == spec || path == real_path(spec);
  if (name == spec) return true;
  // DTrace's convenience: "libc" and "libc.so" name "libc.so.6".
  return starts_with(name, spec + ".");
}

}  // namespace

bool module_matches(const std::string& spec, const Module& m) { return spec_names(spec, m.name, m.path, m.is_main); }

}  // namespace probekit::engine

namespace probekit {

bool ModuleInfo::named_by(const std::string& spec) const {
  return engine::spec_names(spec, name, path, is_main_executable);
}

}  // namespace probekit

namespace probekit::engine {

namespace {

// A 32-bit (i386 or x32) program runs under a 64-bit kernel and can be
// ptraced, but nothing here knows its ABI: say so before anything is read.
Status check_64bit(pid_t pid) {
  std::string exe = "/proc/" + std::to_string(pid) + "/exe";
  auto fd = Fd::open(exe, O_RDONLY);
  if (!fd) return {};  // unreadable: the module scan reports what it can
  uint8_t ident[EI_NIDENT] = {};
  auto n = pread_full(fd->get(), ident, sizeof ident, 0);
  if (!n || *n != sizeof ident || std::memcmp(ident, ELFMAG, SELFMAG) != 0) return {};
  if (ident[EI_CLASS] == ELFCLASS64) return {};
  char path[PATH_MAX];
  ssize_t len = ::readlink(exe.c_str(), path, sizeof path - 1);
  std::string shown = len > 0 ? std::string(path, static_cast<size_t>(len)) : exe;
  return Error("process " + std::to_string(pid) + " runs a 32-bit program ('" + shown +
                   "'); 32-bit targets are not supported: probekit traces x86-64 programs",
               ErrorKind::unsupported);
}

}  // namespace

Result<std::shared_ptr<AddressSpace>> AddressSpace::open(pid_t pid) {
  PK_TRY(check_64bit(pid));
  auto mem = proc::ProcessMemory::open(pid);
  if (!mem) return mem.error();
  std::shared_ptr<AddressSpace> as(new AddressSpace(pid, std::move(*mem)));
  auto r = as->refresh_modules();
  if (!r) return r.error();
  return as;
}

Result<std::shared_ptr<AddressSpace>> AddressSpace::clone_for(pid_t child) const {
  auto mem = proc::ProcessMemory::open(child);
  if (!mem) return mem.error();
  std::shared_ptr<AddressSpace> as(new AddressSpace(child, std::move(*mem)));
  as->modules_ = modules_;
  as->history_->add(modules_);
  as->maps_ = maps_;
  as->next_order_ = next_order_;
  as->xol_ = xol_;
  for (const auto& [addr, site] : sites_) {
    auto copy = std::make_unique<ProbeSite>(*site);
    if (copy->slot) as->slot_owner_[copy->slot] = copy.get();
    as->sites_[addr] = std::move(copy);
  }
  for (const auto& [addr, site] : jump_sites_) as->jump_sites_[addr] = std::make_unique<JumpSite>(*site);
  as->inherited = agent ? agent : inherited;
  as->semaphores = semaphores;  // the child's memory has our increments too
  as->syscall_insn = syscall_insn;
  as->return_trampoline = return_trampoline;  // the child's stack may point at it
  as->r_debug = r_debug;
  as->startup_done = startup_done;
  as->launched = launched;
  return as;
}

Result<bool> AddressSpace::refresh_modules() {
  auto maps = proc::read_maps(pid_);
  if (!maps) return maps.error();
  maps_ = std::move(*maps);
  std::string exe;
  {
    char buf[PATH_MAX];
    ssize_t n = ::readlink(("/proc/" + std::to_string(pid_) + "/exe").c_str(), buf, sizeof buf - 1);
    if (n > 0) exe.assign(buf, static_cast<size_t>(n));
  }
  std::vector<Module> found;
  for (const auto& m : maps_) {
    if (m.path.empty() || m.path[0] == '[' || m.inode == 0) continue;
    if (m.path.rfind("/memfd:", 0) == 0) continue;  // the agent's areas (engine/agent.h)
    auto it = std::find_if(found.begin(), found.end(), [&](const Module& x) { return x.path == m.path; });
    if (it == found.end()) {
      Module mod;
      mod.path = m.path;
      mod.name = basename_of(m.path);
      mod.start = m.start;
      mod.end = m.end;
      mod.inode = m.inode;
      mod.dev = m.dev;
      mod.is_main = m.path == exe;
      mod.bias = m.start - m.offset;  // refined below from the ELF segments
      uint64_t lowest_offset = m.offset;
      mod.elf = load_elf(m.path, m.inode);
      if (mod.elf) {
        if (auto v = link_vaddr_of_offset(*mod.elf, lowest_offset)) mod.bias = m.start - *v;
      }
      found.push_back(std::move(mod));
    } else {
      it->start = std::min(it->start, m.start);
      it->end = std::max(it->end, m.end);
    }
  }
  // The interpreter named by the executable's PT_INTERP.
  std::string interp;
  for (const auto& m : found) {
    if (m.is_main && m.elf && !m.elf->interp().empty()) interp = real_path(m.elf->interp());
  }
  for (auto& m : found) {
    m.is_interp = !interp.empty() ? (m.path == interp || real_path(m.path) == interp)
                                  : starts_with(m.name, "ld-linux");
  }
  // Keep discovery order across refreshes (load order for dlopen'ed objects).
  bool changed = found.size() != modules_.size();
  for (auto& m : found) {
    auto old = std::find_if(modules_.begin(), modules_.end(),
                            [&](const Module& x) { return x.path == m.path && x.start == m.start; });
    if (old != modules_.end()) {
      m.order = old->order;
    } else {
      m.order = next_order_++;
      changed = true;
    }
  }
  std::stable_sort(found.begin(), found.end(), [](const Module& a, const Module& b) {
    auto rank = [](const Module& m) { return m.is_main ? 0 : m.is_interp ? 2 : 1; };
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    return a.order < b.order;
  });
  // Sites whose module went away (dlclose): the memory is gone, forget them
  // (a jump site's trampoline stays mapped: a thread may be in it).
  auto forget_unmapped = [&](auto& table) {
    for (auto& [addr, site] : table) {
      bool mapped = std::any_of(found.begin(), found.end(),
                                [&, a = addr](const Module& m) { return a >= m.start && a < m.end; });
      if (!mapped && !site->gone) {
        site->gone = true;
        site->armed = false;
        changed = true;
      }
    }
  };
  forget_unmapped(sites_);
  forget_unmapped(jump_sites_);
  modules_ = std::move(found);
  history_->add(modules_);
  return changed;
}

const Module* AddressSpace::module_at(uint64_t addr) const {
  for (const auto& m : modules_) {
    if (addr >= m.start && addr < m.end) return &m;
  }
  return nullptr;
}

const Module* AddressSpace::main_module() const {
  for (const auto& m : modules_) {
    if (m.is_main) return &m;
  }
  return nullptr;
}

const Module* AddressSpace::interp_module() const {
  for (const auto& m : modules_) {
    if (m.is_interp) return &m;
  }
  return nullptr;
}

std::vector<const Module*> AddressSpace::modules_matching(const std::string& spec) const {
  std::vector<const Module*> out;
  for (const auto& m : modules_) {
    if (module_matches(spec, m)) out.push_back(&m);
  }
  return out;
}

Status AddressSpace::read_original(uint64_t addr, uint8_t* buf, size_t len) const {
  PK_TRY(mem_.read_exact(addr, buf, len));
  for (auto it = sites_.lower_bound(addr); it != sites_.end() && it->first < addr + len; ++it) {
    if (it->second->armed) buf[it->first - addr] = it->second->original_byte;
  }
  const uint64_t from = addr >= 5 ? addr - 4 : 0;
  for (auto it = jump_sites_.lower_bound(from); it != jump_sites_.end() && it->first < addr + len; ++it) {
    if (!it->second->armed) continue;
    for (size_t k = 0; k < it->second->patch_length; ++k) {
      const uint64_t a = it->first + k;
      if (a >= addr && a < addr + len) buf[a - addr] = it->second->original[k];
    }
  }
  return {};
}

JumpSite* AddressSpace::jump_site_covering(uint64_t addr) {
  auto it = jump_sites_.upper_bound(addr);
  if (it == jump_sites_.begin()) return nullptr;
  --it;
  JumpSite* j = it->second.get();
  return addr < j->address + j->length && !j->gone ? j : nullptr;
}

namespace {

// What `addr` is in module `m` (null: in none).
SiteInfo site_info_in(const Module* m, uint64_t addr) {
  SiteInfo info;
  info.address = addr;
  if (!m) return info;
  info.module = m->name;
  info.module_path = m->path;
  info.is_main_executable = m->is_main;
  if (m->elf) {
    if (const elf::Symbol* s = m->elf->function_containing(addr - m->bias)) {
      info.symbol = s->demangled;
      info.raw_symbol = s->name;
      info.symbol_address = s->value + m->bias;
      info.offset = addr - info.symbol_address;
    }
  }
  return info;
}

// "module:func+0x10", "func+0x10", "module:0x..." or "0x...".
std::string symbol_text(const SiteInfo& info, uint64_t addr, bool qualify_module) {
  if (info.symbol.empty()) {
    if (qualify_module && !info.module.empty()) return info.module + ":" + hex(addr);
    return hex(addr);
  }
  std::string s = info.symbol;
  if (info.offset) s += "+" + hex(info.offset);
  if (qualify_module) s = info.module + ":" + s;
  return s;
}

}  // namespace

SiteInfo AddressSpace::site_info(uint64_t addr) const { return site_info_in(module_at(addr), addr); }

void ModuleHistory::add(const std::vector<Module>& modules) {
  std::lock_guard lock(mutex_);
  for (const Module& m : modules) {
    auto same = [&m](const Module& x) {
      return x.path == m.path && x.start == m.start && x.end == m.end && x.inode == m.inode;
    };
    // Newest last: a module seen again moves to the end (it may have been
    // shadowed by another one mapped at its addresses meanwhile).
    auto it = std::find_if(modules_.begin(), modules_.end(), same);
    if (it != modules_.end()) {
      if (it + 1 == modules_.end()) continue;
      modules_.erase(it);
    }
    modules_.push_back(m);
  }
}

std::string ModuleHistory::symbolize(uint64_t addr, bool qualify_module) const {
  std::lock_guard lock(mutex_);
  const Module* at = nullptr;
  for (auto it = modules_.rbegin(); it != modules_.rend() && !at; ++it)
    if (addr >= it->start && addr < it->end) at = &*it;
  return symbol_text(site_info_in(at, addr), addr, qualify_module);
}

bool AddressSpace::writable(uint64_t addr, size_t len) const {
  for (const auto& m : maps_) {
    if (m.contains(addr)) return m.writable() && addr + len <= m.end;
  }
  return false;
}

bool AddressSpace::mapped(uint64_t addr) const {
  return std::any_of(maps_.begin(), maps_.end(), [&](const proc::MapEntry& m) { return m.contains(addr); });
}

Result<std::vector<ResolvedSite>> AddressSpace::resolve_in(const Module& m, const Location& where) const {
  std::vector<ResolvedSite> out;
  if (where.address) {
    ResolvedSite r;
    r.address = m.bias + *where.address;
    if (where.module.empty()) r.address = *where.address;
    r.info = site_info(r.address);
    if (r.info.symbol_address) {
      r.func_start = r.info.symbol_address;
      if (m.elf) {
        if (const auto* s = m.elf->function_containing(r.func_start - m.bias)) r.func_size = s->size;
      }
    }
    if (!r.func_start && !where.trusted_address) {
      return Error("cannot check that " + hex(r.address) + " in '" + m.name +
                       "' starts an instruction: no function symbol with a size covers it, and a probe in the "
                       "middle of an instruction would break the program; name it as FUNCTION+OFFSET, or give "
                       "an address inside a function probekit lists (-l)",
                   ErrorKind::not_instruction_boundary);
    }
    out.push_back(std::move(r));
    return out;
  }
  if (!m.elf) {
    return Error("cannot read the symbols of '" + m.path + "'", ErrorKind::io);
  }
  std::vector<const elf::Symbol*> syms =
      has_glob(where.symbol) ? m.elf->match_glob(where.symbol) : m.elf->find(where.symbol);
  if (syms.empty()) {
    auto near = closest_matches(where.symbol, m.elf->function_names());
    std::string msg = "no symbol '" + where.symbol + "' in '" + m.name + "'";
    if (!near.empty()) {
      msg += "; did you mean ";
      for (size_t i = 0; i < near.size(); ++i) msg += (i ? (i + 1 == near.size() ? " or '" : ", '") : "'") + near[i] + "'";
      msg += "?";
    }
    return Error(msg, ErrorKind::no_such_symbol);
  }
  for (const elf::Symbol* s : syms) {
    if (s->size && where.offset >= s->size) {
      return Error("offset " + hex(where.offset) + " is past the end of '" + s->demangled + "' (size " +
                       hex(s->size) + ")",
                   ErrorKind::usage);
    }
    ResolvedSite r;
    r.func_start = s->value + m.bias;
    r.func_size = s->size;
    r.address = r.func_start + where.offset;
    r.info.address = r.address;
    r.info.module = m.name;
    r.info.module_path = m.path;
    r.info.is_main_executable = m.is_main;
    r.info.symbol = s->demangled;
    r.info.raw_symbol = s->name;
    r.info.symbol_address = r.func_start;
    r.info.offset = where.offset;
    // One site per address (aliases such as malloc/__libc_malloc).
    if (std::none_of(out.begin(), out.end(), [&](const ResolvedSite& x) { return x.address == r.address; })) {
      out.push_back(std::move(r));
    }
  }
  return out;
}

Result<std::vector<ResolvedSite>> AddressSpace::resolve(const Location& where) const {
  if (!where.module.empty()) {
    auto mods = modules_matching(where.module);
    if (mods.empty()) {
      std::vector<std::string> names;
      for (const auto& m : modules_) names.push_back(m.is_main ? "a.out (" + m.name + ")" : m.name);
      return Error("no module '" + where.module + "' in process " + std::to_string(pid_) +
                       (names.empty() ? "" : "; mapped: " + join(names, ", ")),
                   ErrorKind::no_such_module);
    }
    return resolve_in(*mods.front(), where);
  }
  if (where.address) {
    const Module* m = module_at(*where.address);
    ResolvedSite r;
    r.address = *where.address;
    r.info = site_info(r.address);
    if (!m) {
      return Error("address " + hex(*where.address) + " is not in any mapped module of process " +
                       std::to_string(pid_),
                   ErrorKind::no_such_module);
    }
    return resolve_in(*m, where);
  }
  // No module: the executable first, then every object in load order.
  std::optional<Error> first;
  for (const auto& m : modules_) {
    if (!m.elf) continue;
    auto r = resolve_in(m, where);
    if (r) return r;
    if (r.error().kind() != ErrorKind::no_such_symbol) return r.error();
    if (!first) first = r.error();
  }
  if (first && main_module()) {
    // Suggest from the executable (the error of the first module searched).
    return Error(first->message() + " or any loaded object", ErrorKind::no_such_symbol);
  }
  return Error("no symbol '" + where.symbol + "' in process " + std::to_string(pid_), ErrorKind::no_such_symbol);
}

std::string AddressSpace::symbolize(uint64_t addr, bool qualify_module) const {
  return symbol_text(site_info(addr), addr, qualify_module);
}

Result<uint64_t> AddressSpace::lookup_symbol(const std::string& name) const {
  std::string mod, sym = name;
  if (auto colon = name.rfind(':'); colon != std::string::npos && colon > 0 && name[colon - 1] != ':') {
    mod = name.substr(0, colon);
    sym = name.substr(colon + 1);
  }
  std::vector<std::string> names;
  for (const auto& m : modules_) {
    if (!module_matches(mod, m) || !m.elf) continue;
    for (const auto& s : m.elf->symbols()) {
      if (s.name == sym || s.demangled == sym) return s.value + m.bias;
      names.push_back(s.demangled);
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string msg = "no symbol '" + name + "' in process " + std::to_string(pid_);
  auto near = closest_matches(sym, names);
  for (size_t i = 0; i < near.size(); ++i)
    msg += (i == 0 ? "; did you mean '" : i + 1 == near.size() ? " or '" : ", '") + near[i] + "'";
  if (!near.empty()) msg += "?";
  return Error(msg, ErrorKind::no_such_symbol);
}

Result<std::vector<FunctionInfo>> AddressSpace::functions(const std::string& module) const {
  auto mods = modules_matching(module);
  if (mods.empty()) {
    return Error("no module '" + module + "' in process " + std::to_string(pid_), ErrorKind::no_such_module);
  }
  std::vector<FunctionInfo> out;
  for (const Module* m : mods) {
    if (!m->elf) continue;
    for (const auto& group : m->elf->functions_by_address()) {
      const elf::Symbol& best = *group.front();
      if (best.value == 0) continue;
      FunctionInfo f{best.demangled, best.name, best.value + m->bias, best.size, {}, elf::is_cold_part(best)};
      for (size_t i = 1; i < group.size(); ++i) f.aliases.push_back({group[i]->demangled, group[i]->name});
      out.push_back(std::move(f));
    }
    if (!module.empty()) break;
  }
  return out;
}

void AddressSpace::replace_site(std::unique_ptr<ProbeSite> site) {
  auto it = sites_.find(site->address);
  if (it != sites_.end() && !it->second->gone) {
    // The same live address planned again (a jump probe just turned into
    // this trap site): the new plan serves the old site's probes too, and
    // the int3 already written stays.
    for (ProbeId p : it->second->probes) {
      if (std::find(site->probes.begin(), site->probes.end(), p) == site->probes.end()) site->probes.push_back(p);
    }
    site->armed = it->second->armed;
    if (site->jump_refused.empty()) site->jump_refused = it->second->jump_refused;
  }
  if (it != sites_.end()) {
    for (auto o = slot_owner_.begin(); o != slot_owner_.end();) {
      o = o->second == it->second.get() ? slot_owner_.erase(o) : std::next(o);
    }
  }
  uint64_t addr = site->address;
  ProbeSite* raw = site.get();
  sites_[addr] = std::move(site);
  if (raw->slot) slot_owner_[raw->slot] = raw;
}

ProbeSite* AddressSpace::site_for_slot_address(uint64_t addr) {
  auto it = slot_owner_.upper_bound(addr);
  if (it == slot_owner_.begin()) return nullptr;
  --it;
  if (addr >= it->first && addr < it->first + kSlotSize) return it->second;
  return nullptr;
}

bool AddressSpace::in_xol(uint64_t addr) const {
  return std::any_of(xol_.begin(), xol_.end(),
                     [&](const XolArea& a) { return addr >= a.start && addr < a.start + a.size; });
}

std::optional<uint64_t> AddressSpace::take_slot(uint64_t near) {
  for (auto& a : xol_) {
    if (a.used + kSlotSize > a.size) continue;
    uint64_t slot = a.start + a.used;
    // Both directions of a rel32 must reach: jump back, rip-relative targets
    // near the site. Keep a 16 MB margin.
    uint64_t dist = slot > near ? slot - near : near - slot;
    if (dist > (uint64_t{1} << 31) - (uint64_t{16} << 20)) continue;
    a.used += kSlotSize;
    return slot;
  }
  return std::nullopt;
}

std::vector<uint64_t> AddressSpace::area_candidates(uint64_t near, uint64_t size) const {
  // Gaps between mappings; prefer the end of the nearest gap *below* near
  // (above the executable sits the brk heap, which must stay free to grow).
  std::vector<std::pair<uint64_t, uint64_t>> cands;  // (distance, address)
  const uint64_t reach = (uint64_t{1} << 31) - (uint64_t{64} << 20);
  uint64_t prev_end = 0x100000;
  auto consider = [&](uint64_t gap_start, uint64_t gap_end) {
    if (gap_end <= gap_start || gap_end - gap_start < size + 2 * 4096) return;
    uint64_t below = gap_end - size - 4096;  // leave a guard page
    if (below >= gap_start && below < near && near - below < reach) cands.push_back({near - below, below});
    uint64_t above = gap_start + 4096;
    if (above > near && above - near < reach && above + size <= gap_end) {
      cands.push_back({above - near + (uint64_t{1} << 40), above});  // after every "below"
    }
  };
  for (const auto& m : maps_) {
    if (m.start > prev_end) consider(prev_end, m.start);
    prev_end = std::max(prev_end, m.end);
  }
  std::sort(cands.begin(), cands.end());
  std::vector<uint64_t> out;
  for (const auto& c : cands) out.push_back(c.second);
  return out;
}

bool AddressSpace::can_wait_for(const Error& resolution, const Probe& probe, bool pending_ok) const {
  bool missing = resolution.kind() == ErrorKind::no_such_module ||
                 (resolution.kind() == ErrorKind::no_such_symbol && probe.where.module.empty());
  return missing && (pending_ok || probe.allow_pending || (launched && !startup_done));
}

}  // namespace probekit::engine
