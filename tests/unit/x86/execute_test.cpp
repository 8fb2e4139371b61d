// Relocated copies executed for real, in this process: a "site" page holds a
// tiny function around the relocated instruction, a slot page near it
// (within ±2GB) or far from it holds the copy, and a thunk enters the copy
// the way the engine would (loading the scratch register for a stepped copy;
// the single-step + fix_ip is modelled by a jump back after the copy). The
// result must be what the original code computes.
#include "x86/x86.h"

#include <sys/mman.h>

#include <gtest/gtest.h>

#include <cstring>

#include "x86_test_util.h"

namespace probekit::x86 {
namespace {

using testing::bytes_of;

constexpr size_t kPage = 4096;

class Mapping {
public:
  explicit Mapping(uint64_t hint) {
    void* p = mmap(reinterpret_cast<void*>(hint), kPage, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | (hint ? MAP_FIXED_NOREPLACE : 0), -1, 0);
    if (p != MAP_FAILED) base_ = static_cast<uint8_t*>(p);
  }
  ~Mapping() {
    if (base_) munmap(base_, kPage);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  bool ok() const { return base_ != nullptr; }
  uint64_t addr(size_t off = 0) const { return reinterpret_cast<uint64_t>(base_) + off; }
  void put(size_t off, const std::vector<uint8_t>& b) { std::memcpy(base_ + off, b.data(), b.size()); }
  void put_u64(size_t off, uint64_t v) { std::memcpy(base_ + off, &v, 8); }

private:
  uint8_t* base_ = nullptr;
};

using Fn = uint64_t (*)(uint64_t);

// Site layout: +0 the probed instruction and what follows it; +0x800 data.
// Slot layout: +0 the copy; +0x400 the thunk that enters it.
class Execute : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(site_.ok());
    for (uint64_t delta : {uint64_t{1} << 20, uint64_t{1} << 24, uint64_t{1} << 28}) {
      near_ = std::make_unique<Mapping>((site_.addr() + delta) & ~uint64_t{kPage - 1});
      if (near_->ok()) break;
    }
    for (uint64_t delta : {uint64_t{16} << 30, uint64_t{64} << 30, uint64_t{256} << 30}) {
      far_ = std::make_unique<Mapping>((site_.addr() - delta) & ~uint64_t{kPage - 1});
      if (far_->ok()) break;
      far_ = std::make_unique<Mapping>((site_.addr() + delta) & ~uint64_t{kPage - 1});
      if (far_->ok()) break;
    }
    ASSERT_TRUE(near_->ok());
    ASSERT_TRUE(far_->ok());
    ASSERT_TRUE(fits_rel32(near_->addr() + 5, site_.addr()));
    ASSERT_FALSE(fits_rel32(far_->addr() + 5, site_.addr()));
    site_.put_u64(0x800, 0x1122334455667788);
  }

  // Thunk at slot+0x400: optional prologue bytes, the scratch register load
  // for a stepped copy, then a jump to entry.
  Fn thunk(Mapping& m, const std::vector<uint8_t>& prologue, const XolCode* x, uint64_t entry) {
    std::vector<uint8_t> t = prologue;
    if (x && x->scratch_reg >= 0) {
      EXPECT_EQ(x->scratch_reg, reg::rsi) << "execution tests load rsi only";
      t.push_back(0x48);
      t.push_back(0xbe);  // mov rsi, imm64
      for (int k = 0; k < 8; ++k) t.push_back(static_cast<uint8_t>(x->scratch_value >> (8 * k)));
    }
    const std::vector<uint8_t> j = jmp_abs64(entry);
    t.insert(t.end(), j.begin(), j.end());
    m.put(0x400, t);
    return reinterpret_cast<Fn>(m.addr(0x400));
  }

  // Writes site code, relocates its first instruction into m, and returns
  // (original result, relocated result) for argument arg.
  std::pair<uint64_t, uint64_t> run(const std::string& site_code, Mapping& m,
                                    const std::vector<uint8_t>& prologue, uint64_t arg) {
    std::vector<uint8_t> code = bytes_of(site_code);
    site_.put(0, code);
    auto insn = decode(code.data(), code.size(), site_.addr());
    EXPECT_TRUE(insn.ok());
    if (!insn.ok()) return {0, 1};
    auto x = relocate(*insn, m.addr());
    EXPECT_TRUE(x.ok()) << x.error().message();
    if (!x.ok()) return {0, 1};
    std::vector<uint8_t> copy = x->code;
    if (x->single_step) {
      // What the engine's step + fix_ip does: continue at site + length.
      EXPECT_TRUE(x->fix_ip);
      EXPECT_FALSE(x->fix_call);
      const auto back = jmp_to(m.addr() + copy.size(), site_.addr() + insn->length);
      copy.insert(copy.end(), back.begin(), back.end());
    }
    m.put(0, copy);
    const uint64_t relocated = thunk(m, prologue, &*x, m.addr())(arg);
    const uint64_t original = thunk(m, prologue, nullptr, site_.addr())(arg);
    return {original, relocated};
  }

  static std::string le32(int32_t v) {
    char buf[16];
    const auto u = static_cast<uint32_t>(v);
    std::snprintf(buf, sizeof buf, "%02x %02x %02x %02x", u & 0xff, (u >> 8) & 0xff,
                  (u >> 16) & 0xff, u >> 24);
    return buf;
  }

  Mapping site_{0};
  std::unique_ptr<Mapping> near_, far_;
};

TEST_F(Execute, RipRelativeLoad) {
  // mov rax, [rip+0x800-7]; ret
  const std::string code = "48 8b 05 " + le32(0x800 - 7) + " c3";
  for (Mapping* m : {near_.get(), far_.get()}) {
    auto [orig, reloc] = run(code, *m, {}, 0);
    EXPECT_EQ(orig, 0x1122334455667788u);
    EXPECT_EQ(reloc, 0x1122334455667788u) << (m == far_.get() ? "far" : "near");
  }
}

TEST_F(Execute, RipRelativeLea) {
  // lea rax, [rip+0x800-7]; ret
  const std::string code = "48 8d 05 " + le32(0x800 - 7) + " c3";
  for (Mapping* m : {near_.get(), far_.get()}) {
    auto [orig, reloc] = run(code, *m, {}, 0);
    EXPECT_EQ(orig, site_.addr(0x800));
    EXPECT_EQ(reloc, site_.addr(0x800)) << (m == far_.get() ? "far" : "near");
  }
}

TEST_F(Execute, RipRelativeSse) {
  // movsd xmm0, [rip+0x800-8]; movq rax, xmm0; ret
  const std::string code = "f2 0f 10 05 " + le32(0x800 - 8) + " 66 48 0f 7e c0 c3";
  for (Mapping* m : {near_.get(), far_.get()}) {
    auto [orig, reloc] = run(code, *m, {}, 0);
    EXPECT_EQ(orig, 0x1122334455667788u);
    EXPECT_EQ(reloc, 0x1122334455667788u) << (m == far_.get() ? "far" : "near");
  }
}

TEST_F(Execute, RipRelativeStore) {
  // mov [rip+0x800-7], rdi; mov rax, [rip+0x800-14]; ret
  const std::string code = "48 89 3d " + le32(0x800 - 7) + " 48 8b 05 " + le32(0x800 - 14) + " c3";
  for (Mapping* m : {near_.get(), far_.get()}) {
    site_.put_u64(0x800, 0);
    // The relocated copy runs first: what it loads back is what it stored.
    auto [orig, reloc] = run(code, *m, {}, 0xabcdef);
    EXPECT_EQ(reloc, 0xabcdefu) << (m == far_.get() ? "far" : "near");
    EXPECT_EQ(orig, 0xabcdefu);
  }
}

TEST_F(Execute, ConditionalJump) {
  // +0 jz +6 (-> +8); +2 mov eax, 1; +7 ret; +8 mov eax, 2; +13 ret
  const std::string code = "74 06 b8 01 00 00 00 c3 b8 02 00 00 00 c3";
  const std::vector<uint8_t> test_edi = {0x85, 0xff};  // test edi, edi
  for (Mapping* m : {near_.get(), far_.get()}) {
    EXPECT_EQ(run(code, *m, test_edi, 0), std::make_pair(uint64_t{2}, uint64_t{2}));
    EXPECT_EQ(run(code, *m, test_edi, 5), std::make_pair(uint64_t{1}, uint64_t{1}));
  }
}

TEST_F(Execute, Loop) {
  // +0 loop +6 (-> +8); +2 mov eax, 1; ret; +8 mov eax, 2; ret
  const std::string code = "e2 06 b8 01 00 00 00 c3 b8 02 00 00 00 c3";
  const std::vector<uint8_t> rcx_from_rdi = {0x48, 0x89, 0xf9};  // mov rcx, rdi
  for (Mapping* m : {near_.get(), far_.get()}) {
    EXPECT_EQ(run(code, *m, rcx_from_rdi, 1), std::make_pair(uint64_t{1}, uint64_t{1}));
    EXPECT_EQ(run(code, *m, rcx_from_rdi, 9), std::make_pair(uint64_t{2}, uint64_t{2}));
  }
}

TEST_F(Execute, RelativeCall) {
  // +0 call +8 (-> +13); +5 add eax, 1 (83 c0 01); +8 ret; ... +13 mov eax, edi; ret
  const std::string code = "e8 08 00 00 00 83 c0 01 c3 90 90 90 90 89 f8 c3";
  for (Mapping* m : {near_.get(), far_.get()}) {
    EXPECT_EQ(run(code, *m, {}, 41), std::make_pair(uint64_t{42}, uint64_t{42}));
  }
}

TEST_F(Execute, RelativeJmp) {
  // +0 jmp +5 (-> +7); +2 mov eax, 1... ; +7 lea eax, [rdi+3]; ret
  const std::string code = "eb 05 b8 01 00 00 00 8d 47 03 c3";
  for (Mapping* m : {near_.get(), far_.get()}) {
    EXPECT_EQ(run(code, *m, {}, 4), std::make_pair(uint64_t{7}, uint64_t{7}));
  }
}

}  // namespace
}  // namespace probekit::x86
