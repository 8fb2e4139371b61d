// The native compiler of agent clauses (engine/dvm_native.h), read back
// with the decoder (Zydis, src/x86): the code is bounded (every branch goes
// forward, inside the code), calls only the agent's helpers at their
// absolute addresses, and hands to the interpreter exactly the clauses
// with ops it does not compile. (What the code computes is checked hit by
// hit against the interpreter in tests/unit/d/agent_codegen_test.cpp.)
#include "engine/dvm_native.h"

#include <gtest/gtest.h>

#include <sys/mman.h>
#include <x86intrin.h>

#include <cstring>
#include <set>

#include "agent/dvm.h"
#include "x86/x86.h"

namespace probekit::engine {
namespace {

constexpr uint64_t kAt = 0x7f0000100000;  // where the code is assumed to run
const DvmNativeHelpers kHelpers{0x7f0000001000, 0x7f0000002000, 0x7f0000003000, 0x7f0000004000,
                                0x7f0000005000, 0x7f0000006000, 0x7f0000007000};

struct Code {
  std::vector<uint8_t> bytes;
  Code& op(uint8_t o) {
    bytes.push_back(o);
    return *this;
  }
  Code& u8(uint8_t v) { return op(v); }
  Code& u16(uint16_t v) { return op(static_cast<uint8_t>(v)).op(static_cast<uint8_t>(v >> 8)); }
  Code& imm(uint64_t v) {
    op(PK_OP_IMM);
    for (int i = 0; i < 8; ++i) op(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  // CLAUSE len, then `body` bytes.
  Code& clause(const Code& body) {
    op(PK_OP_CLAUSE).u16(static_cast<uint16_t>(body.bytes.size()));
    bytes.insert(bytes.end(), body.bytes.begin(), body.bytes.end());
    return *this;
  }
};

DvmNativeState state_with(std::vector<pk_dagg>& daggs) {
  DvmNativeState s;
  s.daggs = daggs.data();
  s.ndaggs = static_cast<uint32_t>(daggs.size());
  s.self_words = 4;
  s.global_words = 2;
  s.globals_offset = 256 * 4096;
  return s;
}

// Decodes all of it; every branch forward and inside, every call `call
// rax` right after `mov rax, HELPER`; one ret, last.
void check_code(const std::vector<uint8_t>& code, const DvmNativeHelpers& h = kHelpers) {
  auto insns = x86::decode_all(code, 0x1000);
  ASSERT_TRUE(insns.ok()) << insns.error().message();
  const std::set<uint64_t> helpers = {h.thread, h.part, h.timestamp, h.cpu, h.aggregate, h.interpret, h.op};
  size_t rets = 0;
  for (size_t i = 0; i < insns->size(); ++i) {
    const auto& in = (*insns)[i];
    const std::string m = in.mnemonic();
    if (m[0] == 'j') {
      ASSERT_GT(in.target(), in.address) << in.text() << " goes backward";
      ASSERT_LE(in.target(), 0x1000 + code.size()) << in.text();
    }
    if (m == "call") {
      ASSERT_EQ(in.text(), "call rax");
      ASSERT_GT(i, 0u);
      const auto& prev = (*insns)[i - 1];
      ASSERT_EQ(prev.mnemonic(), "mov") << prev.text();
      uint64_t imm = 0;
      ASSERT_EQ(prev.length, 10) << prev.text();  // mov rax, imm64
      std::memcpy(&imm, prev.bytes.data() + 2, 8);
      EXPECT_TRUE(helpers.count(imm)) << prev.text();
    }
    if (m == "ret") {
      ++rets;
      EXPECT_EQ(i + 1, insns->size());
    }
  }
  EXPECT_EQ(rets, 1u);
}

// The rsi of each call of `helper` (the op's or the clause's address).
std::vector<uint64_t> calls_of(const std::vector<uint8_t>& code, uint64_t helper) {
  std::vector<uint64_t> out;
  auto insns = x86::decode_all(code, 0x1000);
  EXPECT_TRUE(insns.ok());
  if (!insns.ok()) return out;
  uint64_t rsi = 0;
  for (size_t i = 0; i + 1 < insns->size(); ++i) {
    const auto& in = (*insns)[i];
    if (in.mnemonic() == "mov" && in.length == 10 && in.text().rfind("mov rsi, ", 0) == 0)
      std::memcpy(&rsi, in.bytes.data() + 2, 8);
    if (in.mnemonic() == "mov" && in.length == 10 && in.text().rfind("mov rax, ", 0) == 0 &&
        (*insns)[i + 1].text() == "call rax") {
      uint64_t imm = 0;
      std::memcpy(&imm, in.bytes.data() + 2, 8);
      if (imm == helper) out.push_back(rsi);
    }
  }
  return out;
}

TEST(DvmNative, ClausesOfKnownOpsCompileToForwardOnlyCodeCallingOnlyTheHelpers) {
  std::vector<pk_dagg> daggs(1);
  daggs[0].key_words = 1;
  daggs[0].value_words = 1;
  daggs[0].func = PK_DAGG_COUNT;
  Code body1, body2, p;
  // /self->0 != 0 && arg0 / 3 > 2/ { @[arg0 & 7] = count(); self->0 = timestamp; g0 += 1; }
  body1.op(PK_OP_SELF).u16(0).imm(0).op(PK_OP_NE).op(PK_OP_JZ).u16(0);
  const size_t jz = body1.bytes.size() - 2;
  body1.op(PK_OP_REG).u8(14).imm(3).op(PK_OP_SDIV).imm(2).op(PK_OP_SGT).op(PK_OP_LNOT).op(PK_OP_LNOT);
  body1.op(PK_OP_JZ).u16(0);
  const size_t jz2 = body1.bytes.size() - 2;
  const size_t then = body1.bytes.size();
  body1.op(PK_OP_REG).u8(14).imm(7).op(PK_OP_AND).imm(0).imm(1).op(PK_OP_AGG).u16(0);
  body1.op(PK_OP_VAR).u8(PK_DVAR_TIMESTAMP).op(PK_OP_SETSELF).u16(0);
  body1.imm(1).op(PK_OP_ADDGLOBAL).u16(0);
  const size_t end = body1.bytes.size();
  body1.bytes[jz] = static_cast<uint8_t>(end - (jz + 2));
  body1.bytes[jz2] = static_cast<uint8_t>(end - (jz2 + 2));
  (void)then;
  // { pid, tid, cpu, execname == "a.out", ext, shifts, unsigned mod }
  body2.op(PK_OP_VAR).u8(PK_DVAR_PID).op(PK_OP_VAR).u8(PK_DVAR_TID).op(PK_OP_ADD);
  body2.op(PK_OP_VAR).u8(PK_DVAR_CPU).op(PK_OP_MUL).op(PK_OP_EXT).u8(2).u8(1);
  body2.imm(3).op(PK_OP_SHL).imm(5).op(PK_OP_UMOD).op(PK_OP_COMMEQ).imm(0).imm(0).op(PK_OP_POP);
  body2.op(PK_OP_POP);
  p.imm(0).op(PK_OP_SETSELF).u16(3);  // this-> cleared before the clauses
  p.clause(body1).clause(body2).op(PK_OP_END);
  auto daggs_state = state_with(daggs);
  auto native = compile_native(p.bytes, kAt, kHelpers, daggs_state);
  ASSERT_TRUE(native.ok()) << native.error().message();
  EXPECT_EQ(native->native_clauses, 2u);
  EXPECT_TRUE(native->interpreted.empty());
  EXPECT_EQ(describe(*native), "native code");
  ASSERT_NO_FATAL_FAILURE(check_code(native->code));
}

TEST(DvmNative, AClauseWithAnOpItDoesNotCompileIsHandedToTheInterpreterWhole) {
  std::vector<pk_dagg> daggs;
  Code counted, printed, future, p;
  counted.imm(1).op(PK_OP_ADDGLOBAL).u16(1);
  printed.op(PK_OP_REG).u8(14).op(PK_OP_OUT).u16(1).u8(1);  // printf("%d", arg0)
  future.imm(1).op(200);                                     // an op added after this compiler
  p.clause(counted).clause(printed).clause(future).op(PK_OP_END);
  auto s = state_with(daggs);
  auto native = compile_native(p.bytes, kAt, kHelpers, s);
  ASSERT_TRUE(native.ok()) << native.error().message();
  EXPECT_EQ(native->native_clauses, 2u);
  EXPECT_EQ(describe(*native), "native code; interpreted: clause 3 (op 200)");
  ASSERT_NO_FATAL_FAILURE(check_code(native->code));
  // The interpreter gets the clause's own bytes, CLAUSE first; the
  // printf's OUT is a call of the op helper with the op's address.
  const uint64_t second = kAt + 3 + counted.bytes.size(), third = second + 3 + printed.bytes.size();
  EXPECT_EQ(calls_of(native->code, kHelpers.interpret), (std::vector<uint64_t>{third}));
  EXPECT_EQ(calls_of(native->code, kHelpers.op), (std::vector<uint64_t>{second + 3 + 2}));
}

TEST(DvmNative, ProgramsItCannotCompileStayBytecodeWithTheReason) {
  std::vector<pk_dagg> daggs;
  auto s = state_with(daggs);
  Code future, p;
  future.imm(1).op(200);
  p.clause(future).op(PK_OP_END);
  auto all_out = compile_native(p.bytes, kAt, kHelpers, s);
  ASSERT_FALSE(all_out.ok());
  EXPECT_EQ(all_out.error().message(), "no clause compiles: clause 1 (op 200)");
  // A self-> slot beyond the state: the interpreter's fault, not compiled.
  Code wide, q;
  wide.op(PK_OP_SELF).u16(9).op(PK_OP_POP);
  q.clause(wide).op(PK_OP_END);
  auto out_of_range = compile_native(q.bytes, kAt, kHelpers, s);
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_EQ(out_of_range.error().message(), "no clause compiles: clause 1 (SELF of a slot or table out of range)");
  // Stack depths that differ where two paths join.
  Code join, r;
  join.imm(1).op(PK_OP_JZ).u16(10).imm(5).op(PK_OP_POP);  // to the end
  r.clause(join).op(PK_OP_END);
  auto joined = compile_native(r.bytes, kAt, kHelpers, s);
  ASSERT_TRUE(joined.ok()) << joined.error().message();  // imm 5; pop: the same depth
  Code bad, t;
  bad.imm(1).op(PK_OP_JZ).u16(19).imm(5).imm(0).op(PK_OP_POP);  // to the end, one word more
  t.clause(bad).op(PK_OP_END);
  auto differs = compile_native(t.bytes, kAt, kHelpers, s);
  ASSERT_FALSE(differs.ok());
  EXPECT_EQ(differs.error().message(), "no clause compiles: clause 1 (stack depth differs at the clause's end)");
}

// String ops: a literal, a self-> string, a string global and execname
// are addresses made in place; copyinstr's read, copies, comparisons,
// strlen and keys call the string helper with the op's own address in
// the code, the bytes to the code's end, the stack (rsp), its depth and
// the action a bad address is reported in. Without that helper such a
// clause stays bytecode.
TEST(DvmNative, StringOpsCompileToAddressesAndCallsOfTheStringHelper) {
  std::vector<pk_dagg> daggs(1);
  daggs[0].key_words = 1;
  daggs[0].value_words = 1;
  daggs[0].func = PK_DAGG_COUNT;
  auto s = state_with(daggs);
  s.self_words = 8;
  s.global_words = 8;
  Code body, p;
  // /execname != "ab"/ { self->s = copyinstr(arg0); g = self->s; @[self->s] = count(); this->n = strlen(g); }
  body.op(PK_OP_SCOMM).op(PK_OP_SLIT).u16(2).u8('a').u8('b').u8(0).op(PK_OP_SCMP).u16(8);
  body.op(PK_OP_JZ).u16(0);
  const size_t jz = body.bytes.size() - 2;
  body.op(PK_OP_REG).u8(14).op(PK_OP_ACT).u16(3);
  const size_t sread = body.bytes.size();
  body.op(PK_OP_SREAD).u16(2).u16(8).op(PK_OP_SSTORE).u16(0).u16(8);
  body.op(PK_OP_SVAR).u16(0).op(PK_OP_SSETGLOBAL).u8(4).u8(0).u8(0).u8(0).u16(8);
  body.op(PK_OP_SVAR).u16(0).op(PK_OP_SKEY).u16(1).imm(0).imm(1).op(PK_OP_AGG).u16(0);
  body.op(PK_OP_SGLOBAL).u8(4).u8(0).u8(0).u8(0).u16(8).op(PK_OP_SLEN).u16(8).op(PK_OP_SETSELF).u16(4);
  body.bytes[jz] = static_cast<uint8_t>(body.bytes.size() - (jz + 2));
  p.clause(body).op(PK_OP_END);
  auto native = compile_native(p.bytes, kAt, kHelpers, s);
  ASSERT_TRUE(native.ok()) << native.error().message();
  EXPECT_EQ(describe(*native), "native code");
  ASSERT_NO_FATAL_FAILURE(check_code(native->code));
  // The string helper's calls: SCMP, SREAD, SSTORE, SSETGLOBAL, SKEY,
  // SLEN, each with rsi the op's address and r9d the action so far.
  auto insns = x86::decode_all(native->code, 0x1000);
  ASSERT_TRUE(insns.ok());
  std::vector<uint64_t> ops;
  std::vector<std::string> actions;
  for (size_t i = 0; i + 1 < insns->size(); ++i) {
    const auto& in = (*insns)[i];
    if (in.mnemonic() == "mov" && in.length == 10 && in.text().rfind("mov rsi, ", 0) == 0) {
      uint64_t imm = 0;
      std::memcpy(&imm, in.bytes.data() + 2, 8);
      ops.push_back(imm);
    }
    if (in.text().rfind("mov r9d, ", 0) == 0) actions.push_back(in.text());
  }
  ASSERT_EQ(ops.size(), 6u);
  EXPECT_EQ(ops[0], kAt + 3 + 1 + 6);  // SCMP, after SCOMM and SLIT
  EXPECT_EQ(ops[1], kAt + 3 + sread);  // SREAD
  EXPECT_EQ(actions.front(), "mov r9d, 0x00");
  EXPECT_EQ(actions[1], "mov r9d, 0x03");
  // No op helper: the clause is the interpreter's.
  DvmNativeHelpers without = kHelpers;
  without.op = 0;
  Code counted, q;
  counted.imm(1).op(PK_OP_ADDGLOBAL).u16(1);
  q.clause(counted).clause(body).op(PK_OP_END);
  auto partly = compile_native(q.bytes, kAt, without, s);
  ASSERT_TRUE(partly.ok()) << partly.error().message();
  EXPECT_EQ(describe(*partly), "native code; interpreted: clause 2 (SCOMM)");
}

// `timestamp` read in place (DvmNativeHelpers::tsc): a hit whose clock is
// the agent's own reads rdtsc and scales it with no call; any other clock
// goes through the timestamp helper. Run here: g0 = timestamp, with ns =
// 1000 + (tsc - base) * 3 >> 1, between the TSCs read before and after.
uint64_t agent_tsc(pk_dvm_hit*) { return __rdtsc(); }
uint64_t other_tsc(pk_dvm_hit*) { return 7; }
uint64_t helper_timestamp(pk_dvm_hit* h) {  // dvm.h pk_dvm_timestamp, for the other clock
  h->now = h->c->ns_base + (((h->tsc(h) - h->c->tsc_base) * h->c->tsc_mult) >> h->c->tsc_shift);
  return h->now;
}

TEST(DvmNative, TimestampReadsTheTscInPlaceOnlyForTheAgentsClock) {
  std::vector<pk_dagg> none;
  auto st = state_with(none);
  st.globals_offset = 0;
  Code body, p;
  body.op(PK_OP_VAR).u8(PK_DVAR_TIMESTAMP).op(PK_OP_SETGLOBAL).u16(0);
  p.clause(body).op(PK_OP_END);
  DvmNativeHelpers helpers = kHelpers;
  helpers.timestamp = reinterpret_cast<uint64_t>(&helper_timestamp);
  helpers.tsc = reinterpret_cast<uint64_t>(&agent_tsc);
  void* mem = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  auto native = compile_native(p.bytes, reinterpret_cast<uint64_t>(mem), helpers, st);
  ASSERT_TRUE(native.ok()) << native.error().message();
  ASSERT_NO_FATAL_FAILURE(check_code(native->code, helpers));
  auto insns = x86::decode_all(native->code, 0x1000);
  ASSERT_TRUE(insns.ok());
  size_t rdtsc = 0;
  for (const auto& in : *insns) rdtsc += in.mnemonic() == "rdtsc";
  EXPECT_EQ(rdtsc, 1u);
  ASSERT_LE(native->code.size(), 4096u);
  std::memcpy(mem, native->code.data(), native->code.size());
  pk_control c{};
  c.tsc_base = __rdtsc();
  c.ns_base = 1000;
  c.tsc_mult = 3;
  c.tsc_shift = 1;
  uint64_t globals[2] = {};
  auto run = [&](uint64_t (*clock)(pk_dvm_hit*)) {
    pk_dvm_hit h{};
    h.c = &c;
    h.data = reinterpret_cast<const uint8_t*>(&c);
    h.parts = reinterpret_cast<uint8_t*>(globals);
    h.tsc = clock;
    using Fn = uint32_t (*)(pk_dvm_hit*);
    const uint32_t abandoned = reinterpret_cast<Fn>(mem)(&h);
    EXPECT_EQ(abandoned, 0u);
    EXPECT_EQ(h.now, globals[0]);  // kept for the hit's later reads
  };
  const uint64_t before = __rdtsc();
  run(agent_tsc);
  const uint64_t after = __rdtsc();
  EXPECT_GE(globals[0], 1000 + ((before - c.tsc_base) * 3 >> 1));
  EXPECT_LE(globals[0], 1000 + ((after - c.tsc_base) * 3 >> 1));
  run(other_tsc);  // the helper, with the other clock: 7 - base wraps, as the helper computes it
  EXPECT_EQ(globals[0], 1000 + (((7 - c.tsc_base) * 3) >> 1));
  // Without the agent's clock named, every read is the helper's.
  helpers.tsc = 0;
  auto plain = compile_native(p.bytes, reinterpret_cast<uint64_t>(mem), helpers, st);
  ASSERT_TRUE(plain.ok());
  auto plain_insns = x86::decode_all(plain->code, 0x1000);
  ASSERT_TRUE(plain_insns.ok());
  for (const auto& in : *plain_insns) EXPECT_NE(in.mnemonic(), "rdtsc");
  ::munmap(mem, 4096);
}

// Every op the agent runs compiles: output (OUT, OUTS), memory reads
// (STK, LOAD), DTrace's faulting division (DIVZ, MODZ), the arrays (AGET,
// ASET, AADD, ASGET, ASSET: their key words read from the array's header
// among the global words), ustack() (USTACK) call the op helper with the
// op's own address; exit() (EXIT) is one store to pk_control.dexited. No
// clause is left to the interpreter. Without the arrays' headers (no
// globals) an array op is the interpreter's, with the reason.
TEST(DvmNative, EveryOpTheAgentRunsCompilesToNativeCode) {
  std::vector<pk_dagg> daggs;
  auto s = state_with(daggs);
  s.self_words = 8;
  // Two arrays: integers keyed by two words at word 0, strings keyed by
  // one at word 16 (headers only: what the compiler reads).
  std::vector<uint64_t> globals(64, 0);
  pk_darray ints{}, strs{};
  ints.key_words = 2;
  ints.capacity = 4;
  strs.key_words = 1;
  strs.value_words = 2;
  strs.capacity = 4;
  std::memcpy(globals.data(), &ints, sizeof ints);
  std::memcpy(globals.data() + 16, &strs, sizeof strs);
  s.globals = globals.data();
  s.global_words = static_cast<uint32_t>(globals.size());
  Code body, p;
  std::vector<uint64_t> at;  // each helper op's offset in the clause
  auto mark = [&] { at.push_back(kAt + 3 + body.bytes.size()); };
  body.op(PK_OP_ACT).u16(1);
  mark(); body.op(PK_OP_STK).u8(1);                                   // arg6
  body.op(PK_OP_REG).u8(14);
  mark(); body.op(PK_OP_LOAD).u8(4).u8(1);                            // *(int *)arg0
  mark(); body.op(PK_OP_DIVZ).u8(1);                                  // arg6 / *(int *)arg0
  body.op(PK_OP_REG).u8(13);
  mark(); body.op(PK_OP_MODZ).u8(0);                                  // ... % arg1
  body.imm(1).op(PK_OP_REG).u8(14);
  mark(); body.op(PK_OP_AGET).u8(0).u8(0).u8(0).u8(0);                // a[1, arg0]
  body.imm(1).op(PK_OP_REG).u8(14).imm(5);
  mark(); body.op(PK_OP_ASET).u8(0).u8(0).u8(0).u8(0);                // a[1, arg0] = 5
  body.imm(2).op(PK_OP_REG).u8(14).imm(1);
  mark(); body.op(PK_OP_AADD).u8(0).u8(0).u8(0).u8(0);                // a[2, arg0]++
  body.op(PK_OP_REG).u8(14).op(PK_OP_SLIT).u16(1).u8('x').u8(0);
  mark(); body.op(PK_OP_ASSET).u8(16).u8(0).u8(0).u8(0).u16(8);       // s[arg0] = "x"
  body.op(PK_OP_REG).u8(14);
  mark(); body.op(PK_OP_ASGET).u8(16).u8(0).u8(0).u8(0);              // s[arg0]
  mark(); body.op(PK_OP_USTACK).u16(4).u8(PK_USTACK_DEPTH).u8(0).u8(0).u8(0).u8(0).u16(0).u16(0).u16(0);
  mark(); body.op(PK_OP_OUTS).u16(2).u8(2).u16(8 | PK_OUTS_LOCAL).u16(0);  // printf("%s %d", s[arg0], depth)
  mark(); body.op(PK_OP_OUT).u16(3).u8(1);                            // trace(the quotient)
  body.op(PK_OP_EXIT);
  p.clause(body).op(PK_OP_END);
  auto native = compile_native(p.bytes, kAt, kHelpers, s);
  ASSERT_TRUE(native.ok()) << native.error().message();
  EXPECT_EQ(describe(*native), "native code");
  ASSERT_NO_FATAL_FAILURE(check_code(native->code));
  EXPECT_EQ(calls_of(native->code, kHelpers.op), at);
  EXPECT_TRUE(calls_of(native->code, kHelpers.interpret).empty());
  // exit(): a store of 1 to the control's dexited, through h->c.
  auto insns = x86::decode_all(native->code, 0x1000);
  ASSERT_TRUE(insns.ok());
  char store[64];
  std::snprintf(store, sizeof store, "mov dword ptr [rax+0x%02zx], 0x01", offsetof(pk_control, dexited));
  size_t stores = 0;
  for (const auto& in : *insns) stores += in.text() == store;
  EXPECT_EQ(stores, 1u) << store;
  // The clause's output starts where it starts (pk_dvm_hit.clause_out,
  // stored at its entry) and a fault puts out_len back there, as the
  // interpreter's CLAUSE and fault do.
  char save[64], restore[64];
  std::snprintf(save, sizeof save, "mov [rbx+0x%02zx], eax", offsetof(pk_dvm_hit, clause_out));
  std::snprintf(restore, sizeof restore, "mov eax, [rbx+0x%02zx]", offsetof(pk_dvm_hit, clause_out));
  size_t saves = 0, restores = 0;
  for (const auto& in : *insns) {
    saves += in.text() == save;
    restores += in.text() == restore;
  }
  EXPECT_EQ(saves, 1u) << save;
  EXPECT_EQ(restores, 1u) << restore;
  // No headers: the array ops cannot be sized, the clause is interpreted.
  s.globals = nullptr;
  Code counted, q;
  counted.imm(1).op(PK_OP_ADDGLOBAL).u16(1);
  q.clause(counted).clause(body).op(PK_OP_END);
  auto partly = compile_native(q.bytes, kAt, kHelpers, s);
  ASSERT_TRUE(partly.ok()) << partly.error().message();
  EXPECT_EQ(describe(*partly), "native code; interpreted: clause 2 (AGET of a slot or table out of range)");
}

}  // namespace
}  // namespace probekit::engine
