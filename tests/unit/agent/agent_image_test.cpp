// The agent as built: freestanding and position-independent, read with
// libelf independently of the engine's own loader (engine/agent.cpp).
#include <gelf.h>
#include <gtest/gtest.h>
#include <libelf.h>

#include <string>
#include <vector>

#include "agent/agent_image.h"
#include "engine/agent.h"
#include "x86/x86.h"

namespace {

struct ElfHandle {
  Elf* elf = nullptr;
  ElfHandle() {
    elf_version(EV_CURRENT);
    auto img = probekit::agent::image();
    elf = elf_memory(const_cast<char*>(reinterpret_cast<const char*>(img.data())), img.size());
  }
  ~ElfHandle() { elf_end(elf); }
};

TEST(AgentImage, OnlyRelativeRelocationsNoImportsNoLibraries) {
  ElfHandle h;
  ASSERT_NE(h.elf, nullptr);
  GElf_Ehdr eh;
  ASSERT_NE(gelf_getehdr(h.elf, &eh), nullptr);
  EXPECT_EQ(eh.e_type, ET_DYN);
  EXPECT_EQ(eh.e_machine, EM_X86_64);
  size_t relocs = 0, dynsyms = 0;
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(h.elf, scn));) {
    GElf_Shdr sh;
    ASSERT_NE(gelf_getshdr(scn, &sh), nullptr);
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (sh.sh_type == SHT_REL) ADD_FAILURE() << "REL section present";
    if (sh.sh_type == SHT_RELA) {
      for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; ++i) {
        GElf_Rela r;
        ASSERT_NE(gelf_getrela(data, static_cast<int>(i), &r), nullptr);
        EXPECT_EQ(GELF_R_TYPE(r.r_info), static_cast<unsigned>(R_X86_64_RELATIVE)) << "relocation " << i;
        ++relocs;
      }
    }
    if (sh.sh_type == SHT_DYNSYM) {
      for (size_t i = 1; i < sh.sh_size / sh.sh_entsize; ++i) {
        GElf_Sym s;
        ASSERT_NE(gelf_getsym(data, static_cast<int>(i), &s), nullptr);
        EXPECT_NE(s.st_shndx, SHN_UNDEF) << "imports " << elf_strptr(h.elf, sh.sh_link, s.st_name);
        EXPECT_NE(GELF_ST_TYPE(s.st_info), STT_TLS);
        ++dynsyms;
      }
    }
    if (sh.sh_type == SHT_DYNAMIC) {
      for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; ++i) {
        GElf_Dyn d;
        ASSERT_NE(gelf_getdyn(data, static_cast<int>(i), &d), nullptr);
        EXPECT_NE(d.d_tag, DT_NEEDED);
        EXPECT_NE(d.d_tag, DT_JMPREL);
        EXPECT_NE(d.d_tag, DT_INIT);
        EXPECT_NE(d.d_tag, DT_INIT_ARRAY);
      }
    }
  }
  EXPECT_GE(dynsyms, 3u);  // pk_agent_sigtrap, pk_agent_restorer, pk_agent_data
  size_t phnum = 0;
  ASSERT_EQ(elf_getphdrnum(h.elf, &phnum), 0);
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr ph;
    ASSERT_NE(gelf_getphdr(h.elf, static_cast<int>(i), &ph), nullptr);
    EXPECT_NE(ph.p_type, PT_INTERP);
    EXPECT_NE(ph.p_type, PT_TLS);
  }
}

// -mgeneral-regs-only is what lets trampolines skip saving vector state:
// check that no instruction of the agent names a vector register.
TEST(AgentImage, TouchesNoVectorRegister) {
  auto img = probekit::engine::load_agent_image();
  ASSERT_TRUE(img.ok()) << img.error().message();
  ElfHandle h;
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(h.elf, scn));) {
    GElf_Shdr sh;
    gelf_getshdr(scn, &sh);
    if (sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR)) continue;
    std::span<const uint8_t> code(img->bytes.data() + sh.sh_addr, sh.sh_size);
    // Decode instruction by instruction; padding between functions decodes too.
    for (size_t off = 0; off < code.size();) {
      auto insn = probekit::x86::decode(code.data() + off, code.size() - off, sh.sh_addr + off);
      ASSERT_TRUE(insn.ok()) << "at " << off;
      const std::string text = insn->text();
      EXPECT_EQ(text.find("mm"), std::string::npos) << text;  // xmm, ymm, zmm, mm
      off += insn->length;
    }
  }
}

TEST(AgentImage, EngineLoaderFindsTheEntry) {
  auto img = probekit::engine::load_agent_image();
  ASSERT_TRUE(img.ok()) << img.error().message();
  for (uint64_t off : {img->sigtrap_offset, img->restorer_offset, img->data_ptr_offset, img->shadow_ptr_offset,
                       img->ret_entry_offset, img->ret_exit_offset, img->ret_unwind_offset, img->ret_catch_offset,
                       img->hit_ret_offset}) {
    EXPECT_GT(off, 0u);
    EXPECT_LT(off, img->bytes.size());
  }
}

}  // namespace
