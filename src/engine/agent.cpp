#include "engine/agent.h"

#include <asmjit/x86.h>

#include <elf.h>
#include <x86intrin.h>
#include <fcntl.h>
#include <time.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <algorithm>
#include <cstring>

#include "agent/agent_image.h"
#include "agent/dvm.h"
#include "engine/address_space.h"
#include "engine/dvm_native.h"
#include "util/fd.h"
#include "util/strings.h"

namespace probekit::engine {

namespace {

constexpr uint64_t kPage = 4096;
constexpr int kSaRestorer = 0x04000000;  // SA_RESTORER: the kernel ABI flag glibc hides
uint64_t page_up(uint64_t v) { return (v + kPage - 1) & ~(kPage - 1); }

Error image_error(const std::string& what) {
  return Error("the embedded agent image is malformed: " + what, ErrorKind::internal);
}

template <typename T>
Result<const T*> at(std::span<const uint8_t> file, uint64_t off, uint64_t count = 1) {
  if (off > file.size() || count > (file.size() - off) / sizeof(T)) return image_error("truncated");
  return reinterpret_cast<const T*>(file.data() + off);
}

Result<int64_t> call(const RemoteThread& r, long nr, std::initializer_list<uint64_t> args) {
  proc::SyscallArgs a{nr, {}};
  size_t k = 0;
  for (uint64_t v : args) a.args[k++] = v;
  return remote_call(r, a);
}

Error remote_failed(const char* what, int64_t rv) {
  return Error(std::string("injecting the agent: ") + what + " in the target failed: " +
                   std::strerror(static_cast<int>(-rv)),
               ErrorKind::io, static_cast<int>(-rv));
}

// A memfd of `size` bytes mapped in the target with `prot` (at the first of
// `candidates` that is free; anywhere when empty) and read-write here.
Result<std::unique_ptr<SharedArea>> map_shared(AddressSpace& as, const RemoteThread& r, size_t size,
                                               int prot, const std::vector<uint64_t>& candidates) {
  // The memfd's name goes on the thread's stack, below its red zone: dead
  // memory while the thread is stopped.
  auto regs = proc::get_regs(r.tid);
  if (!regs) return regs.error();
  const uint64_t name_at = ((regs->rsp - 1024) & ~uint64_t{15});
  static constexpr char kName[] = "probekit-agent";
  PK_TRY(as.memory().write(name_at, kName, sizeof kName));
  auto fd = call(r, SYS_memfd_create, {name_at, MFD_CLOEXEC});
  if (!fd) return fd.error();
  if (*fd < 0) return remote_failed("memfd_create", *fd);
  const uint64_t remote_fd = static_cast<uint64_t>(*fd);
  auto close_remote = [&] { (void)call(r, SYS_close, {remote_fd}); };

  auto area = std::make_unique<SharedArea>();
  auto local = Fd::open("/proc/" + std::to_string(as.pid()) + "/fd/" + std::to_string(*fd), O_RDWR);
  if (!local) {
    close_remote();
    return local.error();
  }
  area->fd = std::move(*local);
  area->size = size;
  if (::ftruncate(area->fd.get(), static_cast<off_t>(size)) != 0) {
    close_remote();
    return Error::from_errno("ftruncate of the agent's memfd", errno);
  }
  std::vector<uint64_t> where = candidates.empty() ? std::vector<uint64_t>{0} : candidates;
  for (uint64_t cand : where) {
    const uint64_t flags = MAP_SHARED | (cand ? MAP_FIXED_NOREPLACE : 0);
    auto m = call(r, SYS_mmap, {cand, size, static_cast<uint64_t>(prot), flags, remote_fd, 0});
    if (!m) {
      close_remote();
      return m.error();
    }
    if (*m < 0 && *m > -4096) continue;
    if (cand && static_cast<uint64_t>(*m) != cand) {  // an old kernel ignored NOREPLACE
      (void)call(r, SYS_munmap, {static_cast<uint64_t>(*m), size});
      continue;
    }
    area->remote = static_cast<uint64_t>(*m);
    break;
  }
  close_remote();
  if (!area->remote) {
    return Error("no room to map " + std::to_string(size >> 10) + " KiB for the agent within 2GB of the probed code",
                 ErrorKind::cannot_relocate);
  }
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, area->fd.get(), 0);
  if (p == MAP_FAILED) return Error::from_errno("mapping the agent's memfd", errno);
  area->local = static_cast<uint8_t*>(p);
  return area;
}

}  // namespace

Result<int64_t> remote_call(const RemoteThread& r, const proc::SyscallArgs& a) {
  if (!r.gadget || !r.keep) return proc::remote_syscall(r.tid, r.syscall_insn, a, r.held);
  pk_control* c = r.keep;
  const pid_t tid = r.tid;
  return proc::remote_syscall(r.tid, r.gadget, a, r.held, [c, tid](const user_regs_struct* regs) {
    if (!regs) {
      __atomic_store_n(&c->inject_tid, 0, __ATOMIC_RELEASE);
      return;
    }
    static_assert(sizeof(c->inject_regs) == sizeof(user_regs_struct));
    std::memcpy(c->inject_regs, regs, sizeof c->inject_regs);
    __atomic_store_n(&c->inject_tid, static_cast<uint64_t>(tid), __ATOMIC_RELEASE);
  });
}

void Agent::guard_remote(RemoteThread& remote) const {
  if (!guard_installed_ || !syscall_gadget_ || unmapped_) return;
  remote.gadget = syscall_gadget_;
  remote.keep = control();
}

SharedArea::~SharedArea() {
  if (local) ::munmap(local, size);
}

Result<AgentImage> load_agent_image() {
  std::span<const uint8_t> file = agent::image();
  auto eh = at<Elf64_Ehdr>(file, 0);
  if (!eh) return eh.error();
  const Elf64_Ehdr& h = **eh;
  if (std::memcmp(h.e_ident, ELFMAG, SELFMAG) != 0 || h.e_ident[EI_CLASS] != ELFCLASS64 ||
      h.e_machine != EM_X86_64 || h.e_type != ET_DYN) {
    return image_error("not an x86-64 shared object");
  }
  auto ph = at<Elf64_Phdr>(file, h.e_phoff, h.e_phnum);
  if (!ph) return ph.error();
  AgentImage img;
  uint64_t span = 0;
  const Elf64_Phdr* dynamic = nullptr;
  for (int i = 0; i < h.e_phnum; ++i) {
    const Elf64_Phdr& p = (*ph)[i];
    if (p.p_type == PT_LOAD) span = std::max(span, p.p_vaddr + p.p_memsz);
    if (p.p_type == PT_DYNAMIC) dynamic = &p;
  }
  if (span == 0 || span > (16u << 20)) return image_error("no loadable segment");
  img.bytes.assign(page_up(span), 0);
  for (int i = 0; i < h.e_phnum; ++i) {
    const Elf64_Phdr& p = (*ph)[i];
    if (p.p_type != PT_LOAD) continue;
    auto src = at<uint8_t>(file, p.p_offset, p.p_filesz);
    if (!src || p.p_filesz > p.p_memsz) return image_error("segment outside the file");
    std::memcpy(img.bytes.data() + p.p_vaddr, *src, p.p_filesz);
  }
  if (!dynamic) return image_error("no PT_DYNAMIC");
  auto dyn = at<Elf64_Dyn>(img.bytes, dynamic->p_vaddr, dynamic->p_memsz / sizeof(Elf64_Dyn));
  if (!dyn) return dyn.error();
  uint64_t rela = 0, relasz = 0, symtab = 0, strtab = 0, hash = 0;
  for (size_t i = 0; i < dynamic->p_memsz / sizeof(Elf64_Dyn) && (*dyn)[i].d_tag != DT_NULL; ++i) {
    const Elf64_Dyn& d = (*dyn)[i];
    switch (d.d_tag) {
      case DT_RELA: rela = d.d_un.d_ptr; break;
      case DT_RELASZ: relasz = d.d_un.d_val; break;
      case DT_SYMTAB: symtab = d.d_un.d_ptr; break;
      case DT_STRTAB: strtab = d.d_un.d_ptr; break;
      case DT_HASH: hash = d.d_un.d_ptr; break;
      case DT_NEEDED: return image_error("it needs a shared library");
      case DT_REL:
      case DT_JMPREL: return image_error("it has relocations other than RELA RELATIVE");
      default: break;
    }
  }
  if (rela) {
    auto rs = at<Elf64_Rela>(img.bytes, rela, relasz / sizeof(Elf64_Rela));
    if (!rs) return rs.error();
    for (size_t i = 0; i < relasz / sizeof(Elf64_Rela); ++i) {
      const Elf64_Rela& r = (*rs)[i];
      if (ELF64_R_TYPE(r.r_info) != R_X86_64_RELATIVE) return image_error("a relocation is not RELATIVE");
      if (r.r_offset + 8 > img.bytes.size()) return image_error("a relocation outside the image");
      img.relative_relocs.push_back(r.r_offset);
      img.relative_addends.push_back(r.r_addend);
    }
  }
  if (!hash || !symtab || !strtab) return image_error("no dynamic symbol table");
  auto nchain = at<uint32_t>(img.bytes, hash + 4);
  if (!nchain) return nchain.error();
  auto syms = at<Elf64_Sym>(img.bytes, symtab, **nchain);
  if (!syms) return syms.error();
  for (uint32_t i = 0; i < **nchain; ++i) {
    const Elf64_Sym& s = (*syms)[i];
    if (strtab + s.st_name >= img.bytes.size()) return image_error("a symbol name outside the image");
    const char* name = reinterpret_cast<const char*>(img.bytes.data() + strtab + s.st_name);
    if (s.st_shndx == SHN_UNDEF && s.st_name) return image_error(std::string("it imports '") + name + "'");
    if (std::strcmp(name, "pk_agent_sigtrap") == 0) img.sigtrap_offset = s.st_value;
    if (std::strcmp(name, "pk_agent_restorer") == 0) img.restorer_offset = s.st_value;
    if (std::strcmp(name, "pk_agent_syscall") == 0) img.syscall_offset = s.st_value;
    if (std::strcmp(name, "pk_agent_data") == 0) img.data_ptr_offset = s.st_value;
    if (std::strcmp(name, "pk_agent_hit") == 0) img.hit_offset = s.st_value;
    if (std::strcmp(name, "pk_agent_shadow") == 0) img.shadow_ptr_offset = s.st_value;
    if (std::strcmp(name, "pk_agent_ret_entry") == 0) img.ret_entry_offset = s.st_value;
    if (std::strcmp(name, "pk_agent_hit_ret") == 0) img.hit_ret_offset = s.st_value;
    if (std::strcmp(name, "pk_agent_ret_exit") == 0) img.ret_exit_offset = s.st_value;
    if (std::strcmp(name, "pk_agent_ret_unwind") == 0) img.ret_unwind_offset = s.st_value;
    if (std::strcmp(name, "pk_agent_ret_catch") == 0) img.ret_catch_offset = s.st_value;
    static const char* const kDvmHelpers[] = {"pk_agent_dvm_thread",    "pk_agent_dvm_part",
                                              "pk_agent_dvm_timestamp", "pk_agent_dvm_cpu",
                                              "pk_agent_dvm_aggregate", "pk_agent_dvm_interpret",
                                              "pk_agent_dvm_op",        "pk_agent_dvm_tsc"};
    for (size_t k = 0; k < std::size(kDvmHelpers); ++k)
      if (std::strcmp(name, kDvmHelpers[k]) == 0) img.dvm_helper_offsets[k] = s.st_value;
  }
  if (!img.sigtrap_offset || !img.restorer_offset || !img.syscall_offset || !img.data_ptr_offset || !img.hit_offset ||
      !img.shadow_ptr_offset || !img.ret_entry_offset || !img.ret_exit_offset || !img.ret_unwind_offset ||
      !img.ret_catch_offset || !img.hit_ret_offset) {
    return image_error("an entry point is missing");
  }
  if (img.data_ptr_offset + 8 > img.bytes.size()) return image_error("pk_agent_data outside the image");
  if (img.shadow_ptr_offset + 8 > img.bytes.size()) return image_error("pk_agent_shadow outside the image");
  return img;
}

Status Agent::ensure(AddressSpace& as, RemoteThread& remote, uint64_t near) {
  if (!as.agent) {
    auto agent = inject(as, remote, near);
    if (!agent) return agent.error();
    as.agent = *agent;
  }
  as.agent->guard_remote(remote);
  return {};
}

Result<std::shared_ptr<Agent>> Agent::inject(AddressSpace& as, const RemoteThread& remote, uint64_t near) {
  auto image = load_agent_image();
  if (!image) return image.error();
  std::shared_ptr<Agent> agent(new Agent());

  const size_t data_size = page_up(sizeof(pk_control)) + page_up(sizeof(pk_site_rt) * kMaxSites) +
                           page_up(sizeof(pk_patch) * kMaxPatches) + kProgramSpace;
  auto data = map_shared(as, remote, data_size, PROT_READ | PROT_WRITE, {});
  if (!data) return data.error();
  agent->data_ = std::move(*data);
  auto* ctl = reinterpret_cast<pk_control*>(agent->data_->local);
  ctl->magic = PK_AGENT_MAGIC;
  ctl->version = PK_AGENT_ABI_VERSION;
  ctl->nsites_max = kMaxSites;
  ctl->sites_offset = page_up(sizeof(pk_control));
  ctl->patches_offset = ctl->sites_offset + page_up(sizeof(pk_site_rt) * kMaxSites);
  ctl->npatches_max = kMaxPatches;
  ctl->death_fd = -1;
  ctl->tracer_pid = static_cast<uint64_t>(::getpid());

  auto code = map_shared(as, remote, kCodeAreaSize, PROT_READ | PROT_EXEC, as.area_candidates(near, kCodeAreaSize));
  if (!code) return code.error();
  SharedArea& area = **code;
  if (image->bytes.size() > area.size / 2) return image_error("too large");
  std::memcpy(area.local, image->bytes.data(), image->bytes.size());
  for (size_t i = 0; i < image->relative_relocs.size(); ++i) {
    const uint64_t v = area.remote + static_cast<uint64_t>(image->relative_addends[i]);
    std::memcpy(area.local + image->relative_relocs[i], &v, 8);
  }
  {
    const uint64_t data_at = agent->data_->remote;
    std::memcpy(area.local + image->data_ptr_offset, &data_at, 8);
  }
  area.used = image->bytes.size();
  agent->sigtrap_entry_ = area.remote + image->sigtrap_offset;
  agent->syscall_gadget_ = area.remote + image->syscall_offset;
  agent->hit_entry_ = area.remote + image->hit_offset;
  agent->image_base_ = area.remote;
  agent->shadow_ptr_offset_ = image->shadow_ptr_offset;
  agent->ret_entry_offset_ = image->ret_entry_offset;
  agent->hit_ret_offset_ = image->hit_ret_offset;
  agent->ret_exit_offset_ = image->ret_exit_offset;
  agent->ret_unwind_offset_ = image->ret_unwind_offset;
  agent->ret_catch_offset_ = image->ret_catch_offset;
  for (size_t k = 0; k < std::size(agent->dvm_helpers_); ++k)
    agent->dvm_helpers_[k] = image->dvm_helper_offsets[k] ? area.remote + image->dvm_helper_offsets[k] : 0;
  const uint64_t restorer = area.remote + image->restorer_offset;
  agent->code_.push_back(std::move(*code));
  (void)as.refresh_modules();
  // The orphan guard is best effort: without it the agent still counts.
  agent->control()->previous.restorer = restorer;
  if (agent->install_guard(as, remote)) agent->guard_installed_ = true;
  return agent;
}

// The death pipe and the SIGTRAP action (agent.c). The pipe is created in
// the target; probekit opens its write end through /proc and the target
// keeps only the read end, moved to a high descriptor number so that the
// program's own numbering does not change, with O_ASYNC: when the last
// writer (probekit) goes away, the kernel sends the owner SIGTRAP with
// si_code POLL_HUP.
Status Agent::install_guard(AddressSpace& as, const RemoteThread& remote) {
  pk_control* c = control();
  const uint64_t restorer = c->previous.restorer;
  // Scratch: the reserved words of the control block.
  auto* fds = reinterpret_cast<int32_t*>(&c->reserved[0]);
  auto pr = call(remote, SYS_pipe2, {data_remote_of(fds), O_CLOEXEC});
  if (!pr) return pr.error();
  if (*pr < 0) return remote_failed("pipe2", *pr);
  const uint64_t rfd = static_cast<uint64_t>(fds[0]), wfd = static_cast<uint64_t>(fds[1]);
  auto writer = Fd::open("/proc/" + std::to_string(as.pid()) + "/fd/" + std::to_string(wfd), O_WRONLY);
  auto high = call(remote, SYS_fcntl, {rfd, F_DUPFD_CLOEXEC, 900});
  (void)call(remote, SYS_close, {rfd});
  (void)call(remote, SYS_close, {wfd});
  if (!writer) return writer.error();
  if (!high) return high.error();
  if (*high < 0) return remote_failed("fcntl(F_DUPFD_CLOEXEC)", *high);
  const uint64_t fd = static_cast<uint64_t>(*high);
  for (auto [cmd, arg] : {std::pair<uint64_t, uint64_t>{F_SETOWN, static_cast<uint64_t>(as.pid())},
                          {F_SETSIG, SIGTRAP},
                          {F_SETFL, O_ASYNC | O_NONBLOCK}}) {
    auto r = call(remote, SYS_fcntl, {fd, cmd, arg});
    if (!r || *r < 0) {
      (void)call(remote, SYS_close, {fd});
      return r ? remote_failed("fcntl", *r) : r.error();
    }
  }
  // Our action, with the program's previous one saved where the agent
  // reads it.
  auto* act = reinterpret_cast<pk_kernel_sigaction*>(&c->reserved[0]);
  static_assert(sizeof(c->reserved) >= sizeof(pk_kernel_sigaction));
  *act = {sigtrap_entry_, static_cast<uint64_t>(SA_SIGINFO | kSaRestorer | SA_ONSTACK), restorer, ~uint64_t{0}};
  auto sa = call(remote, SYS_rt_sigaction, {SIGTRAP, data_remote_of(act), data_remote_of(&c->previous), 8});
  if (!sa || *sa < 0) {
    (void)call(remote, SYS_close, {fd});
    return sa ? remote_failed("rt_sigaction", *sa) : sa.error();
  }
  std::memset(act, 0, sizeof *act);
  c->death_fd = static_cast<int32_t>(fd);
  death_writer_ = std::move(*writer);
  return {};
}

Result<uint64_t> Agent::sigtrap_handler(const RemoteThread& remote) {
  auto* cur = reinterpret_cast<pk_kernel_sigaction*>(&control()->reserved[0]);
  auto r = call(remote, SYS_rt_sigaction, {SIGTRAP, 0, data_remote_of(cur), 8});
  if (!r) return r.error();
  if (*r != 0) return remote_failed("rt_sigaction", *r);
  return cur->handler;
}

Status Agent::give_back_sigtrap(const RemoteThread& remote) {
  auto w = call(remote, SYS_rt_sigaction, {SIGTRAP, data_remote_of(&control()->previous), 0, 8});
  if (!w) return w.error();
  if (*w != 0) return remote_failed("rt_sigaction", *w);
  return {};
}

std::vector<std::pair<uint64_t, size_t>> Agent::areas() const {
  std::vector<std::pair<uint64_t, size_t>> out{{data_->remote, data_->size}};
  for (const auto& a : code_) out.emplace_back(a->remote, a->size);
  if (rings_) out.emplace_back(rings_->remote, rings_->size);
  if (dstate_) out.emplace_back(dstate_->remote, dstate_->size);
  return out;
}

std::vector<std::pair<uint64_t, size_t>> Agent::private_areas() const {
  std::vector<std::pair<uint64_t, size_t>> out;
  if (identity_) out.emplace_back(identity_, 4096);
  if (shadow_) out.emplace_back(shadow_, shadow_size_);
  return out;
}

Status Agent::retire(const RemoteThread& remote) {
  if (!guard_installed_) return {};
  guard_installed_ = false;
  pk_control* c = control();
  auto r = sigtrap_handler(remote);
  if (r && *r == sigtrap_entry_) (void)give_back_sigtrap(remote);
  if (c->death_fd >= 0) {
    // O_ASYNC off first: a fork child holding the same open pipe would
    // otherwise have the kernel signal this process when our end closes.
    const uint64_t fd = static_cast<uint64_t>(c->death_fd);
    (void)call(remote, SYS_fcntl, {fd, F_SETFL, O_NONBLOCK});
    (void)call(remote, SYS_close, {fd});
  }
  c->death_fd = -1;
  death_writer_.reset();
  return r ? Status{} : Status(r.error());
}

void Agent::arming(uint64_t address, const uint8_t* original, uint32_t length, uint64_t resume, bool last) {
  pk_control* c = control();
  auto* table = reinterpret_cast<pk_patch*>(data_->local + c->patches_offset);
  uint32_t i;
  auto it = patch_index_.find(address);
  if (it != patch_index_.end()) {
    i = it->second;
  } else {
    if (c->npatches >= kMaxPatches) return;  // unguarded beyond the table: still correct while we live
    i = c->npatches;
    patch_index_[address] = i;
  }
  pk_patch& p = table[i];
  std::atomic_ref<uint32_t>(p.armed).store(0, std::memory_order_release);
  p.address = address;
  p.resume = resume;
  std::memset(p.original, 0, sizeof p.original);
  std::memcpy(p.original, original, std::min<uint32_t>(length, sizeof p.original));
  p.length = length;
  std::atomic_ref<uint32_t>(p.armed).store(last ? PK_PATCH_ARMED_LAST : PK_PATCH_ARMED, std::memory_order_release);
  if (i == c->npatches) std::atomic_ref<uint32_t>(c->npatches).store(i + 1, std::memory_order_release);
}

void Agent::disarmed(uint64_t address) {
  auto it = patch_index_.find(address);
  if (it == patch_index_.end()) return;
  auto* table = reinterpret_cast<pk_patch*>(data_->local + control()->patches_offset);
  std::atomic_ref<uint32_t>(table[it->second].armed).store(0, std::memory_order_release);
}

pk_site_rt* Agent::site(uint32_t index) const {
  auto* ctl = reinterpret_cast<pk_control*>(data_->local);
  return reinterpret_cast<pk_site_rt*>(data_->local + ctl->sites_offset) + index;
}

Result<uint32_t> Agent::add_site(uint64_t address, uint32_t action, uint32_t program) {
  if (nsites_ >= kMaxSites) {
    return Error("the agent's site table is full (" + std::to_string(kMaxSites) + " jump probes)",
                 ErrorKind::cannot_relocate);
  }
  uint32_t i = nsites_++;
  pk_site_rt* s = site(i);
  std::memset(s, 0, sizeof *s);
  s->address = address;
  s->action = action;
  s->program = program;
  credited_.push_back(0);
  delivered_.push_back(0);
  return i;
}

uint64_t Agent::dropped(uint32_t index) const {
  return std::atomic_ref<uint64_t>(site(index)->dropped).load(std::memory_order_relaxed);
}

uint64_t Agent::nested(uint32_t index) const {
  return std::atomic_ref<uint64_t>(site(index)->nested).load(std::memory_order_relaxed);
}

uint64_t Agent::site_address(uint32_t index) const { return index < nsites_ ? site(index)->address : 0; }

namespace {

// AT_HWCAP2's HWCAP2_FSGSBASE: the kernel lets user code run rdfsbase.
bool fsgsbase_enabled(pid_t pid) {
  auto auxv = read_file("/proc/" + std::to_string(pid) + "/auxv");
  if (!auxv) return false;
  for (size_t i = 0; i + 16 <= auxv->size(); i += 16) {
    uint64_t key = 0, value = 0;
    std::memcpy(&key, auxv->data() + i, 8);
    std::memcpy(&value, auxv->data() + i + 8, 8);
    if (key == 26 /* AT_HWCAP2 */) return (value & 2) != 0;
    if (key == 0) break;
  }
  return false;
}

// The ranges the agent reads without a system call (agent_abi.h
// pk_control.direct): the main executable's read-only mappings and the
// [stack] mapping, adjacent ones merged. Fewer than all of them is only
// slower: a read elsewhere takes process_vm_readv.
void set_direct_ranges(pk_control* c, const std::vector<proc::MapEntry>& maps, const Module* main) {
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& m : maps) {
    const bool exe = main && m.path == main->path && m.inode == main->inode && m.readable() && !m.writable();
    if (!exe && !(m.path == "[stack]" && m.readable())) continue;
    if (!ranges.empty() && ranges.back().second == m.start) ranges.back().second = m.end;
    else ranges.emplace_back(m.start, m.end);
  }
  const size_t n = std::min<size_t>(ranges.size(), PK_DIRECT_RANGES);
  for (size_t i = 0; i < n; ++i) {
    c->direct[i][0] = ranges[i].first;
    c->direct[i][1] = ranges[i].second;
  }
  c->ndirect = static_cast<uint32_t>(n);
}

}  // namespace

Status Agent::enable_records(AddressSpace& as, const RemoteThread& remote) {
  if (rings_) return {};
  const size_t table = page_up(sizeof(pk_thread) * kThreads);
  auto rings = map_shared(as, remote, table + size_t{kThreads} * kRingSize, PROT_READ | PROT_WRITE, {});
  if (!rings) return rings.error();
  auto page = call(remote, SYS_mmap, {0, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, ~uint64_t{0}, 0});
  if (!page) return page.error();
  if (*page < 0 && *page > -4096) return remote_failed("mmap", *page);
  const uint32_t pid = static_cast<uint32_t>(as.pid());
  PK_TRY(as.memory().write(static_cast<uint64_t>(*page), &pid, sizeof pid));
  identity_ = static_cast<uint64_t>(*page);
  rings_ = std::move(*rings);
  pk_control* c = control();
  c->identity = identity_;
  c->fsgsbase = fsgsbase_enabled(as.pid()) ? 1 : 0;
  c->nthreads_max = kThreads;
  c->ring_size = kRingSize;
  c->rings_remote = rings_->remote + table;
  (void)as.refresh_modules();
  set_direct_ranges(c, as.maps(), as.main_module());  // the maps refresh_modules() just read
  std::atomic_ref<uint64_t>(c->threads_remote).store(rings_->remote, std::memory_order_release);
  return {};
}

// The return trampoline (agent_abi.h): reached from a return point (the
// probed function's `ret` landed there), so rsp is as after the real
// return. It saves the frame pk_agent_hit reads (rsp as after the return,
// rax the return value), calls pk_agent_ret_exit, puts the real return
// address into [rsp-8] (the slot the function returned from) and `ret`s
// to it: the entry trampoline's `call` had pushed the return point on the
// CPU's return stack and the function's `ret` consumed it, so the caller's
// own call is on top again and this `ret` is predicted (kretprobes' and
// uftrace's trampolines return with `ret` after a hijack that was not a
// call, and mispredict it). The registers: all 15 are stored (the frame
// has every word a clause may read) but only the 9 the C code may clobber
// are loaded back, the callee-saved ones being as the agent found them;
// the flags word holds 0x202 (after a `ret` the System V ABI keeps no flag
// for the caller, DF is 0 and stays 0 in the agent), so neither pushfq,
// popfq nor cld runs. The stack is aligned for the call with the old rsp
// kept on it, not in a callee-saved register that would need restoring.
// [rsp-8] is below rsp but safe: the kernel puts a signal frame below the
// 128-byte red zone.
Status Agent::enable_returns(AddressSpace& as, const RemoteThread& remote) {
  if (shadow_) return {};
  if (!rings_) return Error("return probes need the agent's records", ErrorKind::internal);
  const size_t size = page_up(sizeof(pk_shadow_area));
  auto page = call(remote, SYS_mmap, {0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, ~uint64_t{0}, 0});
  if (!page) return page.error();
  if (*page < 0 && *page > -4096) return remote_failed("mmap", *page);
  const uint64_t area = static_cast<uint64_t>(*page);

  namespace ax = asmjit::x86;
  asmjit::CodeHolder code;
  code.init(asmjit::Environment(asmjit::Arch::kX64));
  ax::Assembler a(&code);
  static const ax::Gp kClobbered[] = {ax::rdi, ax::rsi, ax::rdx, ax::rcx, ax::rax, ax::r8, ax::r9, ax::r10, ax::r11};
  static const ax::Gp kPreserved[] = {ax::rbx, ax::rbp, ax::r12, ax::r13, ax::r14, ax::r15};
  asmjit::Label lost = a.newLabel();
  a.lea(ax::rsp, ax::ptr(ax::rsp, -128));
  a.push(asmjit::imm(0x202));  // the frame's flags word
  for (const auto& r : kClobbered) a.push(r);
  for (const auto& r : kPreserved) a.push(r);
  a.mov(ax::rdi, ax::rsp);
  a.mov(ax::rax, ax::rsp);
  a.and_(ax::rsp, -16);
  a.push(ax::rax);
  a.push(ax::rax);
  a.mov(ax::rax, asmjit::imm(image_base_ + ret_exit_offset_));
  a.call(ax::rax);
  a.mov(ax::rsp, ax::qword_ptr(ax::rsp));
  a.test(ax::rax, ax::rax);
  a.jz(lost);
  a.mov(ax::qword_ptr(ax::rsp, 16 * 8 + 128 - 8), ax::rax);
  a.lea(ax::rsp, ax::ptr(ax::rsp, 8 * static_cast<int>(std::size(kPreserved))));
  for (size_t i = std::size(kClobbered); i-- > 0;) a.pop(kClobbered[i]);
  a.lea(ax::rsp, ax::ptr(ax::rsp, 8 + 128 - 8));  // the flags word and the red zone: rsp at the slot
  a.ret();
  a.bind(lost);
  a.ud2();  // no frame for this return (cannot happen unless memory was corrupted): stop visibly
  if (code.flatten() != asmjit::kErrorOk) return Error("assembling the return trampoline failed", ErrorKind::internal);
  const asmjit::CodeBuffer& buf = code.textSection()->buffer();
  auto space = code_near(as, remote, image_base_, buf.size());
  if (!space) return space.error();
  std::memcpy(space->local, buf.data(), buf.size());

  pk_shadow_area head{};
  head.trampoline = space->remote;
  head.sites_remote = site_remote(0);
  PK_TRY(as.memory().write(area, &head, offsetof(pk_shadow_area, stacks)));
  shadow_ = area;
  shadow_size_ = size;
  ret_trampoline_ = space->remote;
  std::memcpy(code_.front()->local + shadow_ptr_offset_, &area, 8);
  return {};
}

void Agent::mark_override_site(uint32_t index, int64_t value, uint32_t per_million) {
  site(index)->override_value = value;
  site(index)->override_per_million = per_million;
}

void Agent::set_ret_offset(uint32_t index, int64_t ret_offset) { site(index)->ret_offset = ret_offset; }

void Agent::mark_return_site(uint32_t index, int64_t ret_offset) {
  site(index)->ret_offset = ret_offset;
  site(index)->return_site = 1;
}

Result<uint32_t> Agent::add_program(const std::vector<pk_read>& reads, uint32_t regs_mask) {
  const size_t bytes = (sizeof(pk_program) + sizeof(pk_read) * reads.size() + 15) & ~size_t{15};
  if (programs_used_ + bytes > kProgramSpace) {
    return Error("the agent's program space is full", ErrorKind::cannot_relocate);
  }
  pk_control* c = control();
  const size_t at = c->patches_offset + page_up(sizeof(pk_patch) * kMaxPatches) + programs_used_;
  auto* prog = reinterpret_cast<pk_program*>(data_->local + at);
  prog->nreads = static_cast<uint32_t>(reads.size());
  prog->regs_mask = regs_mask & ((1u << PK_RECORD_REGS) - 1);
  uint64_t max = sizeof(pk_record) + 8u * static_cast<uint64_t>(__builtin_popcount(prog->regs_mask));
  for (size_t i = 0; i < reads.size(); ++i) {
    const pk_read& r = reads[i];
    if (r.nderefs > PK_MAX_DEREFS || r.size == 0 || r.size > 8) {
      return Error("a capture read the agent cannot run", ErrorKind::internal);
    }
    std::memcpy(reinterpret_cast<uint8_t*>(prog + 1) + i * sizeof(pk_read), &r, sizeof r);
    max += (sizeof(pk_item) + 8) * (r.nderefs ? r.nderefs - 1u : 0u);
    if (r.string) max += sizeof(pk_item) + PK_STRING_MAX;
    else if (r.nderefs) max += sizeof(pk_item) + 8;
  }
  prog->max_record = static_cast<uint32_t>((max + 7) & ~uint64_t{7});
  programs_used_ += bytes;
  return static_cast<uint32_t>(at);
}

Status Agent::enable_dstate(AddressSpace& as, const RemoteThread& remote, const std::vector<uint8_t>& daggs,
                            uint32_t self_words, uint32_t part_bytes, uint32_t global_words,
                            const std::function<void(uint64_t*)>& init_globals, uint64_t tsc_base, uint64_t ns_base,
                            uint64_t tsc_mult, uint32_t tsc_shift) {
  if (dstate_) return {};
  if (!rings_) return Error("internal: the D state needs the thread table", ErrorKind::internal);
  if (part_bytes == 0 || part_bytes % kPage) return Error("internal: a D state part is not in pages", ErrorKind::internal);
  const size_t at_bytes = (daggs.size() + 15) & ~size_t{15};
  if (programs_used_ + at_bytes > kProgramSpace) return Error("the agent's program space is full", ErrorKind::cannot_relocate);
  const size_t globals_bytes = page_up(size_t{8} * global_words);
  auto area = map_shared(as, remote, size_t{kThreads} * part_bytes + globals_bytes, PROT_READ | PROT_WRITE, {});
  if (!area) return area.error();
  pk_control* c = control();
  const size_t at = c->patches_offset + page_up(sizeof(pk_patch) * kMaxPatches) + programs_used_;
  if (!daggs.empty()) std::memcpy(data_->local + at, daggs.data(), daggs.size());
  programs_used_ += at_bytes;
  dstate_ = std::move(*area);
  c->daggs_offset = static_cast<uint32_t>(at);
  c->ndaggs = static_cast<uint32_t>(daggs.size() / sizeof(pk_dagg));
  c->dstate_stride = part_bytes;
  c->dself_words = self_words;
  c->dglobal_words = global_words;
  if (global_words) {
    dglobals_ = reinterpret_cast<uint64_t*>(dstate_->local + size_t{kThreads} * part_bytes);
    if (init_globals) init_globals(dglobals_);
  }
  c->tsc_base = tsc_base;
  c->ns_base = ns_base;
  {
    timespec wall{}, mono{};
    ::clock_gettime(CLOCK_REALTIME, &wall);
    ::clock_gettime(CLOCK_MONOTONIC, &mono);
    c->wall_offset = (static_cast<int64_t>(wall.tv_sec) - static_cast<int64_t>(mono.tv_sec)) * 1000000000 +
                     (static_cast<int64_t>(wall.tv_nsec) - static_cast<int64_t>(mono.tv_nsec));
  }
  c->tsc_mult = tsc_mult;
  c->tsc_shift = tsc_shift;
  std::atomic_ref<uint64_t>(c->dstate_remote).store(dstate_->remote, std::memory_order_release);
  return {};
}

Result<uint32_t> Agent::add_dprog(const std::vector<uint8_t>& code) {
  const size_t bytes = (sizeof(pk_dprog) + code.size() + 15) & ~size_t{15};
  if (programs_used_ + bytes > kProgramSpace) return Error("the agent's program space is full", ErrorKind::cannot_relocate);
  pk_control* c = control();
  const size_t at = c->patches_offset + page_up(sizeof(pk_patch) * kMaxPatches) + programs_used_;
  auto* prog = reinterpret_cast<pk_dprog*>(data_->local + at);
  prog->size = static_cast<uint32_t>(code.size());
  prog->probe = 0;
  prog->native = 0;  // interpreted unless compile_native() says otherwise
  std::memcpy(prog + 1, code.data(), code.size());
  programs_used_ += bytes;
  return static_cast<uint32_t>(at);
}

Result<std::string> Agent::compile_native(AddressSpace& as, const RemoteThread& remote, uint32_t program) {
  std::string form;
  auto* prog = reinterpret_cast<pk_dprog*>(data_->local + program);
  const auto* bytes = reinterpret_cast<const uint8_t*>(prog + 1);
  const pk_control* c = control();
  if (!native_) {
    form = "bytecode (-x agentjit=off)";
  } else if (!dstate_) {
    form = "bytecode (no D state)";
  } else if (auto same = native_of_.find(std::vector<uint8_t>(bytes, bytes + prog->size)); same != native_of_.end()) {
    prog->native = same->second.first;  // another site of the probe: the same code (its clauses the same bytes)
    form = same->second.second;
  } else {
    DvmNativeHelpers helpers{dvm_helpers_[0], dvm_helpers_[1], dvm_helpers_[2], dvm_helpers_[3],
                             dvm_helpers_[4], dvm_helpers_[5], dvm_helpers_[6], dvm_helpers_[7]};
    DvmNativeState state;
    state.daggs = reinterpret_cast<const pk_dagg*>(data_->local + c->daggs_offset);
    state.ndaggs = c->ndaggs;
    state.self_words = c->dself_words;
    state.global_words = c->dglobal_words;
    state.globals_offset = uint64_t{c->nthreads_max} * c->dstate_stride;
    state.globals = dglobals_;
    auto native = engine::compile_native(std::vector<uint8_t>(bytes, bytes + prog->size),
                                         data_->remote + program + sizeof(pk_dprog), helpers, state);
    if (!native) {
      form = "bytecode (" + native.error().message() + ")";
    } else {
      auto space = code_near(as, remote, code_remote(), native->code.size());
      if (!space) return space.error();
      std::memcpy(space->local, native->code.data(), native->code.size());
      prog->native = space->remote;  // before add_site() publishes the site
      form = describe(*native);
    }
    native_of_[std::vector<uint8_t>(bytes, bytes + prog->size)] = {prog->native, form};
  }
  dprog_forms_[program] = form;
  return form;
}

std::string Agent::dprog_form_of_site(uint32_t index) const {
  auto it = dprog_forms_.find(site(index)->program);
  return it == dprog_forms_.end() ? std::string() : it->second;
}

uint32_t Agent::run_dprog(uint32_t program, const user_regs_struct& regs, pid_t pid, pid_t tid,
                          const std::string& comm, uint64_t tsc, int cpu, int64_t ret_offset,
                          std::vector<uint8_t>* out, uint32_t* items, std::optional<int64_t>* override_value) {
  if (!dstate_ || !rings_) return 1;
  // After an exit() (agent_abi.h dexited), as the agent's dprog_hit: nothing runs.
  if (std::atomic_ref<uint32_t>(control()->dexited).load(std::memory_order_relaxed)) return 0;
  struct Env {
    Agent* agent;
    pid_t pid, tid;
    const std::string* comm;
    uint64_t fs_base, tsc;
    int cpu;
    std::vector<uint8_t>* out;
  } env{this, pid, tid, &comm, regs.fs_base, tsc, cpu, out};
  pk_dvm_hit v{};
  v.c = control();
  v.data = data_->local;
  v.threads = reinterpret_cast<pk_thread*>(rings_->local);
  v.parts = dstate_->local;
  uint64_t frame[16];
  std::memcpy(frame, &regs, 15 * 8);  // r15..rdi, as the trampoline saves them
  frame[15] = regs.eflags;
  v.frame = frame;
  v.rsp = regs.rsp;
  v.rip = regs.rip;
  v.fsbase = regs.fs_base;
  v.ret_offset = ret_offset;
  v.env = &env;
  // The thread's slot as the agent finds it: (fs base, tid), claimed here
  // when the thread never hit a jump site (its self-> variables unset).
  v.thread = [](pk_dvm_hit* h) -> pk_thread* {
    auto* e = static_cast<Env*>(h->env);
    auto* tab = h->threads;
    const uint64_t key = e->fs_base ? e->fs_base : 1;
    for (uint32_t i = 0; i < kThreads; ++i) {
      if (std::atomic_ref<uint64_t>(tab[i].key).load(std::memory_order_acquire) == key &&
          tab[i].tid == static_cast<uint32_t>(e->tid) && tab[i].pid == static_cast<uint32_t>(e->pid))
        return &tab[i];
    }
    for (uint32_t i = 0; i < kThreads; ++i) {
      uint64_t expected = 0;
      if (std::atomic_ref<uint64_t>(tab[i].key).compare_exchange_strong(expected, key)) {
        pk_thread& t = tab[i];
        t.pid = static_cast<uint32_t>(e->pid);
        t.busy = 0;
        std::memset(t.comm, 0, sizeof t.comm);
        std::memcpy(t.comm, e->comm->data(), std::min(e->comm->size(), sizeof t.comm - 1));
        auto* self = reinterpret_cast<uint64_t*>(h->parts + uint64_t{i} * h->c->dstate_stride);
        std::memset(self, 0, 8ull * h->c->dself_words);
        std::atomic_ref<uint32_t>(t.tid).store(static_cast<uint32_t>(e->tid), std::memory_order_release);
        return &t;
      }
    }
    return nullptr;
  };
  v.read = [](pk_dvm_hit* h, uint64_t addr, uint8_t* dst, uint32_t len, int) -> uint32_t {
    auto* e = static_cast<Env*>(h->env);
    iovec local{dst, len}, remote{reinterpret_cast<void*>(addr), len};
    const ssize_t n = ::process_vm_readv(e->pid, &local, 1, &remote, 1, 0);
    return n > 0 ? static_cast<uint32_t>(n) : 0;
  };
  v.tsc = [](pk_dvm_hit* h) { return static_cast<Env*>(h->env)->tsc; };
  v.cpu = [](pk_dvm_hit* h) { return static_cast<uint32_t>(static_cast<Env*>(h->env)->cpu); };
  if (out) {  // the same room as a record in the ring
    out->assign(PK_DOUT_MAX - sizeof(pk_record), 0);
    v.open = [](pk_dvm_hit* h, uint32_t* cap) -> uint8_t* {
      auto* o = static_cast<Env*>(h->env)->out;
      *cap = static_cast<uint32_t>(o->size());
      return o->data();
    };
  }
  // raise(): from here, to the thread stopped at the hit (delivered when
  // it resumes, as the agent's own tgkill is when it leaves the call).
  v.raise = [](pk_dvm_hit* h, uint64_t sig) {
    auto* e = static_cast<Env*>(h->env);
    (void)::syscall(SYS_tgkill, e->pid, e->tid, static_cast<int>(sig));
  };
  const auto* prog = reinterpret_cast<const pk_dprog*>(data_->local + program);
  const uint32_t abandoned = pk_dvm_run(&v, reinterpret_cast<const uint8_t*>(prog + 1), prog->size);
  if (override_value) {
    if (v.overridden) *override_value = static_cast<int64_t>(v.override_value);
    else override_value->reset();
  }
  if (out) out->resize(v.out_len);
  if (items) *items = v.out_items;
  return abandoned;
}

void Agent::set_tid_offset(uint64_t offset) {
  std::atomic_ref<uint64_t>(control()->tid_offset).store(offset, std::memory_order_release);
}

void Agent::learn_rseq(const AddressSpace& as) {
  pk_control* c = control();
  if (!rings_ || c->rseq) return;
  if (!rseq_offset_at_ && as.modules().size() != rseq_modules_seen_) {
    rseq_modules_seen_ = as.modules().size();
    auto offset_at = as.lookup_symbol("ld-linux-x86-64.so.2:__rseq_offset");
    auto size_at = as.lookup_symbol("ld-linux-x86-64.so.2:__rseq_size");
    if (offset_at && size_at) {
      rseq_offset_at_ = *offset_at;
      rseq_size_at_ = *size_at;
    }
  }
  if (!rseq_offset_at_ || rseq_given_up_) return;
  // Both are set by ld.so while it sets up TLS: zero until then, and a
  // size of zero afterwards when rseq is not registered (a tunable): then
  // the CPU comes from the segment limit for good.
  int64_t offset = 0;
  uint32_t size = 0;
  if (!as.memory().read_exact(rseq_offset_at_, &offset, sizeof offset) ||
      !as.memory().read_exact(rseq_size_at_, &size, sizeof size) || size < 8) {
    rseq_given_up_ = as.startup_done && offset != 0;
    return;
  }
  c->rseq_offset = offset;
  std::atomic_ref<uint32_t>(c->rseq).store(1, std::memory_order_release);
}

void Agent::thread_started(pid_t pid, pid_t tid, uint64_t fs_base, const std::string& comm) {
  if (!rings_) return;
  auto* tab = reinterpret_cast<pk_thread*>(rings_->local);
  const uint64_t key = fs_base ? fs_base : 1;
  for (uint32_t i = 0; i < kThreads; ++i) {
    pk_thread& t = tab[i];
    if (std::atomic_ref<uint64_t>(t.key).load(std::memory_order_acquire) != key) continue;
    if (t.pid != static_cast<uint32_t>(pid)) continue;
    std::memset(t.comm, 0, sizeof t.comm);
    std::memcpy(t.comm, comm.data(), std::min(comm.size(), sizeof t.comm - 1));
    if (dstate_) {  // another thread's slot: its self-> variables start unset
      auto* self = reinterpret_cast<uint64_t*>(dstate_->local + uint64_t{i} * control()->dstate_stride);
      std::memset(self, 0, 8ull * control()->dself_words);
    }
    std::atomic_ref<uint32_t>(t.tid).store(static_cast<uint32_t>(tid), std::memory_order_release);
  }
}

size_t Agent::drain(const std::function<void(const pk_record&)>& each, bool all) {
  if (!rings_) return 0;
  auto* tab = reinterpret_cast<pk_thread*>(rings_->local);
  // The watermark (agent.c pk_agent_hit): our own time, then the oldest
  // time of a record in progress.
  // A record takes nanoseconds to write: a busy thread is given up to
  // about 50 µs to finish (it may be stopped or descheduled), so that the
  // watermark rarely holds back a record of a thread that is not busy.
  uint64_t watermark = all ? UINT64_MAX : __rdtsc();
  for (uint32_t i = 0; i < kThreads && !all; ++i) {
    pk_thread& t = tab[i];
    if (!std::atomic_ref<uint64_t>(t.key).load(std::memory_order_acquire)) continue;
    std::atomic_ref<uint32_t> busy(t.busy);
    for (int spin = 0; spin < 2000 && busy.load(std::memory_order_acquire); ++spin) _mm_pause();
    if (!busy.load(std::memory_order_acquire)) continue;
    watermark = std::min(watermark, std::atomic_ref<uint64_t>(t.pending_tsc).load(std::memory_order_acquire));
  }
  uint8_t* rings = rings_->local + page_up(sizeof(pk_thread) * kThreads);
  struct Pending {
    uint64_t tsc;
    const pk_record* rec;
  };
  std::vector<Pending> pending;
  std::vector<std::pair<pk_thread*, uint64_t>> consumed;
  for (uint32_t i = 0; i < kThreads; ++i) {
    pk_thread& t = tab[i];
    if (!std::atomic_ref<uint64_t>(t.key).load(std::memory_order_acquire)) continue;
    const uint64_t head = std::atomic_ref<uint64_t>(t.head).load(std::memory_order_acquire);
    uint64_t tail = t.tail;
    if (head == tail) continue;
    uint8_t* ring = rings + size_t{i} * kRingSize;
    while (tail < head) {
      const auto* r = reinterpret_cast<const pk_record*>(ring + (tail & (kRingSize - 1)));
      if (r->size < 8 || r->size > kRingSize) break;  // never written so: stop reading this ring
      if (r->site != PK_RECORD_PAD && r->tsc >= watermark) break;  // the next drain's
      if (r->site != PK_RECORD_PAD) pending.push_back({r->tsc, r});
      tail += r->size;
    }
    consumed.push_back({&t, tail});
  }
  std::stable_sort(pending.begin(), pending.end(), [](const Pending& a, const Pending& b) { return a.tsc < b.tsc; });
  for (const Pending& p : pending) {
    if (p.rec->site < nsites_ && p.rec->regs_mask != PK_RECORD_DOUT) delivered_[p.rec->site]++;  // D output: not a hit
    each(*p.rec);
  }
  for (auto [t, tail] : consumed) std::atomic_ref<uint64_t>(t->tail).store(tail, std::memory_order_release);
  return pending.size();
}

std::vector<std::pair<int, uint64_t>> Agent::cpu_drops() const {
  std::vector<std::pair<int, uint64_t>> out;
  pk_control* c = control();
  for (int i = 0; i < 64; ++i) {
    uint64_t n = std::atomic_ref<uint64_t>(c->cpu_drops[i]).load(std::memory_order_relaxed);
    if (n) out.push_back({i, n});
  }
  return out;
}

uint64_t Agent::site_remote(uint32_t index) const {
  return data_->remote + (reinterpret_cast<uint8_t*>(site(index)) - data_->local);
}

uint64_t Agent::hits(uint32_t index) const {
  return std::atomic_ref<uint64_t>(site(index)->hits).load(std::memory_order_relaxed) + delivered_[index];
}

Result<Agent::CodeSpace> Agent::code_near(AddressSpace& as, const RemoteThread& remote, uint64_t near, size_t n) {
  if (unmapped_) return Error("the agent's areas are unmapped", ErrorKind::internal);
  n = (n + 15) & ~size_t{15};
  auto reaches = [&](const SharedArea& a) {
    return x86::fits_rel32(near + 5, a.remote) && x86::fits_rel32(near + 5, a.remote + a.size) && x86::fits_rel32(a.remote + a.size, near) && a.used + n <= a.size;
  };
  for (auto& a : code_) {
    if (reaches(*a)) {
      CodeSpace c{a->remote + a->used, a->local + a->used};
      a->used += n;
      return c;
    }
  }
  auto area = map_shared(as, remote, kCodeAreaSize, PROT_READ | PROT_EXEC, as.area_candidates(near, kCodeAreaSize));
  if (!area) return area.error();
  (void)as.refresh_modules();
  code_.push_back(std::move(*area));
  SharedArea& a = *code_.back();
  CodeSpace c{a.remote, a.local};
  a.used = n;
  return c;
}

}  // namespace probekit::engine
