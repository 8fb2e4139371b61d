// dwarf/call_frames.cpp — see call_frames.h.
#include "dwarf/call_frames.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <libelf.h>

#include <cstdlib>

#include "util/fd.h"

namespace probekit::dwarf {

struct CallFrames::Handles {
  Fd fd;
  Elf* elf = nullptr;
  Dwarf_CFI* cfi = nullptr;
  Handles() = default;
  Handles(const Handles&) = delete;
  Handles& operator=(const Handles&) = delete;
  ~Handles() {
    if (cfi != nullptr) dwarf_cfi_end(cfi);
    if (elf != nullptr) elf_end(elf);
  }
};

CallFrames::CallFrames(std::unique_ptr<Handles> h) : h_(std::move(h)) {}
CallFrames::~CallFrames() = default;

Result<std::unique_ptr<CallFrames>> CallFrames::open(const std::string& path) {
  auto h = std::make_unique<Handles>();
  auto fd = Fd::open(path, O_RDONLY);
  if (!fd) return fd.error();
  h->fd = std::move(*fd);
  elf_version(EV_CURRENT);
  h->elf = elf_begin(h->fd.get(), ELF_C_READ_MMAP, nullptr);
  if (h->elf == nullptr || elf_kind(h->elf) != ELF_K_ELF) return Error("'" + path + "' is not an ELF object", ErrorKind::unsupported);
  h->cfi = dwarf_getcfi_elf(h->elf);
  if (h->cfi == nullptr) return Error("'" + path + "' has no call frame information", ErrorKind::unsupported);
  return std::unique_ptr<CallFrames>(new CallFrames(std::move(h)));
}

std::optional<CfaRule> CallFrames::cfa_at(uint64_t vaddr) const {
  Dwarf_Frame* frame = nullptr;
  if (dwarf_cfi_addrframe(h_->cfi, vaddr, &frame) != 0 || frame == nullptr) return std::nullopt;
  std::optional<CfaRule> rule;
  Dwarf_Op* ops = nullptr;
  size_t nops = 0;
  if (dwarf_frame_cfa(frame, &ops, &nops) == 0 && nops == 1) {
    if (ops[0].atom == DW_OP_bregx) {
      rule = CfaRule{static_cast<int>(ops[0].number), static_cast<int64_t>(ops[0].number2)};
    } else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
      rule = CfaRule{ops[0].atom - DW_OP_breg0, static_cast<int64_t>(ops[0].number)};
    }
  }
  free(frame);
  return rule;
}

}  // namespace probekit::dwarf
