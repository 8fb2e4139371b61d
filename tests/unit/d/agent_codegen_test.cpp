// The agent code generator against the tree VM: the same program fired on
// the same hits, once by Program::fire (the tracer) and once by the agent's
// interpreter (agent/dvm.h, run here on memory laid out as the agent's
// shared state), must print exactly the same aggregations; and every hit
// the interpreter runs, the native code engine/dvm_native.h compiles from
// the same bytecode runs too, leaving exactly the same state.
#include "d/agent_codegen.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>

#include <sys/mman.h>

#include "agent/dvm.h"
#include "d/program.h"
#include "engine/dvm_native.h"
#include "fake_hit.h"

namespace probekit::d {
namespace {

struct Hit {
  int tid = 1234;
  std::string comm = "a.out";
  uint64_t args[6] = {};
  uint64_t ts = 0;
  uint64_t stack[5] = {};  // [rsp], arg6..arg9
  uint64_t rax = 0;        // at a return: the return value
  int64_t ret_offset = 0;  // at a return: the returning instruction's offset
  std::map<uint64_t, std::string> memory;  // region start -> bytes (copyinstr)
  uint64_t rip = 0, rbp = 0;               // ustack()'s first frame and frame-pointer chain
};

// Machine code mapped executable in this process, for as long as it lives.
class ExecutableCode {
public:
  explicit ExecutableCode(const std::vector<uint8_t>& code) : size_(code.size()) {
    mem_ = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(mem_, MAP_FAILED);
    std::memcpy(mem_, code.data(), size_);
    EXPECT_EQ(::mprotect(mem_, size_, PROT_READ | PROT_EXEC), 0);
  }
  ~ExecutableCode() { ::munmap(mem_, size_); }
  ExecutableCode(const ExecutableCode&) = delete;
  ExecutableCode& operator=(const ExecutableCode&) = delete;
  uint32_t call(pk_dvm_hit* v) const { return reinterpret_cast<uint32_t (*)(pk_dvm_hit*)>(mem_)(v); }

private:
  void* mem_ = nullptr;
  size_t size_ = 0;
};

// The shared state of one address space, in this process.
struct FakeAgent {
  std::vector<uint8_t> data;
  std::vector<pk_thread> threads = std::vector<pk_thread>(8);
  std::vector<uint8_t> parts;
  const Program::AgentLayout* layout = nullptr;

  explicit FakeAgent(const Program::AgentLayout& l) : layout(&l) {
    data.resize(sizeof(pk_control) + l.aggs.size() * sizeof(pk_dagg));
    auto* c = control();
    c->daggs_offset = sizeof(pk_control);
    c->ndaggs = static_cast<uint32_t>(l.aggs.size());
    c->dstate_stride = l.part_bytes;
    c->dself_words = l.self_words;
    c->nthreads_max = static_cast<uint32_t>(threads.size());
    c->dglobal_words = l.global_words;
    c->tsc_mult = 1;  // ns = tsc
    if (!l.aggs.empty()) std::memcpy(data.data() + sizeof(pk_control), l.aggs.data(), l.aggs.size() * sizeof(pk_dagg));
    parts.assign(threads.size() * l.part_bytes + 8u * l.global_words, 0);
  }
  pk_control* control() { return reinterpret_cast<pk_control*>(data.data()); }
  // The global words, after the thread parts (as Agent::enable_dstate maps them).
  uint64_t* globals() { return reinterpret_cast<uint64_t*>(parts.data() + threads.size() * layout->part_bytes); }

  struct Env {
    FakeAgent* agent;
    const Hit* hit;
  };
  static pk_thread* thread(pk_dvm_hit* v) {
    auto* e = static_cast<Env*>(v->env);
    for (auto& t : e->agent->threads) {
      if (t.tid == static_cast<uint32_t>(e->hit->tid)) return &t;
      if (t.tid == 0) {
        t.tid = static_cast<uint32_t>(e->hit->tid);
        t.pid = 1234;
        std::memset(t.comm, 0, sizeof t.comm);
        std::memcpy(t.comm, e->hit->comm.data(), std::min<size_t>(15, e->hit->comm.size()));
        return &t;
      }
    }
    return nullptr;
  }
  static uint32_t read(pk_dvm_hit* v, uint64_t addr, uint8_t* dst, uint32_t len, int) {
    auto* e = static_cast<Env*>(v->env);
    for (const auto& [start, bytes] : e->hit->memory) {  // as FakeHit reads it: up to the region's end
      if (addr >= start && addr < start + bytes.size()) {
        const size_t n = std::min<size_t>(len, start + bytes.size() - addr);
        std::memcpy(dst, bytes.data() + (addr - start), n);
        return static_cast<uint32_t>(n);
      }
    }
    const auto base = reinterpret_cast<uint64_t>(e->hit->stack);
    if (addr < base || addr + len > base + sizeof e->hit->stack) return 0;
    std::memcpy(dst, reinterpret_cast<const void*>(addr), len);
    return len;
  }
  static uint64_t tsc(pk_dvm_hit* v) { return static_cast<Env*>(v->env)->hit->ts; }
  static uint32_t cpu(pk_dvm_hit*) { return 0; }

  // Destructive actions the code took, as FakeHost logs the tracer's.
  std::vector<std::string> log;
  static void raise(pk_dvm_hit* v, uint64_t sig) {
    static_cast<Env*>(v->env)->agent->log.push_back("raise " + std::to_string(sig));
  }

  // The output record's items of the last run (agent_abi.h PK_ITEM_DOUT).
  std::vector<uint8_t> out;
  uint32_t out_items = 0;
  static uint8_t* open(pk_dvm_hit* v, uint32_t* cap) {
    auto* e = static_cast<Env*>(v->env);
    e->agent->out.assign(PK_DOUT_MAX - sizeof(pk_record), 0);
    *cap = static_cast<uint32_t>(e->agent->out.size());
    return e->agent->out.data();
  }

  // A hit runs twice from the same state: by the interpreter, then by the
  // code engine/dvm_native.h compiles (here, in this process), and both
  // must leave the same state, output and actions behind. (The first 64
  // hits of a test and every 16th after: each comparison copies the whole
  // state.)
  uint32_t hits_ = 0;
  uint32_t run(const std::vector<uint8_t>& code, const Hit& h) {
    if (++hits_ > 64 && hits_ % 16) return run_form(code, h, hits_ % 2);
    const auto threads0 = threads;
    const auto parts0 = parts;
    const size_t log0 = log.size();
    const uint32_t abandoned = run_form(code, h, false);
    const auto threads1 = threads;
    const auto parts1 = parts;
    const auto out1 = out;
    const uint32_t items1 = out_items;
    const std::vector<std::string> log1(log.begin() + static_cast<long>(log0), log.end());
    threads = threads0;
    parts = parts0;
    log.resize(log0);
    const uint32_t native_abandoned = run_form(code, h, true);
    EXPECT_EQ(native_abandoned, abandoned);
    EXPECT_EQ(0, std::memcmp(threads.data(), threads1.data(), threads.size() * sizeof(pk_thread)));
    EXPECT_TRUE(parts == parts1) << "the native code left other D state than the interpreter";
    EXPECT_TRUE(out == out1);
    EXPECT_EQ(out_items, items1);
    EXPECT_EQ(std::vector<std::string>(log.begin() + static_cast<long>(log0), log.end()), log1);
    return abandoned;
  }

  // What the last native run compiled (engine::describe, or why not).
  static std::string& native_form() {
    static std::string form;
    return form;
  }
  // The native form: compiled with helpers that are this process's
  // functions doing what the agent's pk_agent_dvm_* do.
  static pk_dvm_fns fns(pk_dvm_hit* v) { return {v->thread, v->read, v->tsc, v->cpu}; }
  static pk_thread* n_thread(pk_dvm_hit* v) {
    auto f = fns(v);
    return pk_dvm_thread(v, &f);
  }
  static uint8_t* n_part(pk_dvm_hit* v) {
    auto f = fns(v);
    return pk_dvm_part(v, &f);
  }
  static uint64_t n_timestamp(pk_dvm_hit* v) {
    auto f = fns(v);
    return pk_dvm_timestamp(v, &f);
  }
  static uint64_t n_cpu(pk_dvm_hit* v) { return v->cpu(v); }
  static uint32_t n_interpret(pk_dvm_hit* v, const uint8_t* c, uint32_t size) { return pk_dvm_run(v, c, size); }
  static uint32_t n_op(pk_dvm_hit* v, const uint8_t* op, uint32_t size, uint64_t* st, uint32_t depth,
                       uint32_t action) {  // agent.c pk_agent_dvm_op
    auto f = fns(v);
    return pk_dvm_native_op(v, &f, op, size, st, depth, action);
  }
  static uint32_t run_native(pk_dvm_hit* v, const std::vector<uint8_t>& code) {
    engine::DvmNativeHelpers helpers{reinterpret_cast<uint64_t>(&n_thread),    reinterpret_cast<uint64_t>(&n_part),
                                     reinterpret_cast<uint64_t>(&n_timestamp), reinterpret_cast<uint64_t>(&n_cpu),
                                     reinterpret_cast<uint64_t>(&pk_dvm_aggregate_at),
                                     reinterpret_cast<uint64_t>(&n_interpret),  reinterpret_cast<uint64_t>(&n_op)};
    engine::DvmNativeState state;
    state.daggs = reinterpret_cast<const pk_dagg*>(v->data + v->c->daggs_offset);
    state.ndaggs = v->c->ndaggs;
    state.self_words = v->c->dself_words;
    state.global_words = v->c->dglobal_words;
    state.globals_offset = uint64_t{v->c->nthreads_max} * v->c->dstate_stride;
    state.globals = reinterpret_cast<const uint64_t*>(v->parts + state.globals_offset);
    auto native = engine::compile_native(code, reinterpret_cast<uint64_t>(code.data()), helpers, state);
    native_form() = native ? engine::describe(*native) : "bytecode: " + native.error().message();
    if (!native) return pk_dvm_run(v, code.data(), static_cast<uint32_t>(code.size()));  // all bytecode
    ExecutableCode exec(native->code);
    return exec.call(v);
  }

  uint32_t run_form(const std::vector<uint8_t>& code, const Hit& h, bool native) {
    out.clear();
    uint64_t frame[16] = {};
    static constexpr int kWord[6] = {14, 13, 12, 11, 9, 8};
    for (int i = 0; i < 6; ++i) frame[kWord[i]] = h.args[i];
    frame[10] = h.rax;
    frame[4] = h.rbp;
    Env env{this, &h};
    pk_dvm_hit v{};
    v.c = control();
    v.data = data.data();
    v.threads = threads.data();
    v.parts = parts.data();
    v.frame = frame;
    v.rsp = reinterpret_cast<uint64_t>(h.stack);
    v.rip = h.rip;
    v.thread = thread;
    v.read = read;
    v.tsc = tsc;
    v.cpu = cpu;
    v.env = &env;
    v.ret_offset = h.ret_offset;
    v.open = open;
    v.raise = raise;
    const uint32_t abandoned = native ? run_native(&v, code) : pk_dvm_run(&v, code.data(), static_cast<uint32_t>(code.size()));
    if (v.overridden) log.push_back("override " + std::to_string(static_cast<int64_t>(v.override_value)));
    out.resize(v.out_len);
    out_items = v.out_items;
    return abandoned;
  }
};

const ProbeKey kWork{"pid1234", "a.out", "work", "entry"};
const ProbeKey kWorkReturn{"pid1234", "a.out", "work", "return"};
const ProbeKey kRest{"pid1234", "libc.so.6", "rest", "entry"};

struct Both {
  std::unique_ptr<Program> tracer, agent;
  StringSink tracer_out, agent_out;
  testing::FakeHost host;
  std::unique_ptr<FakeAgent> shared;
  std::vector<testing::FakeSymbol> symbols;  // what the hits symbolize by

  explicit Both(const std::string& src, bool destructive = false) {
    CompileOptions o;
    o.destructive = destructive;
    o.target_pid = 1234;
    o.quiet = true;
    for (auto* p : {&tracer, &agent}) {
      auto r = compile(src, "t.d", o);
      EXPECT_TRUE(r.ok()) << r.diagnostics.render();
      *p = std::move(r.program);
      (*p)->set_host(&host);
    }
    tracer->set_output(&tracer_out);
    agent->set_output(&agent_out);
    shared = std::make_unique<FakeAgent>(agent->agent_layout());
    agent->set_agent_parts([this] {
      std::vector<const uint8_t*> out;
      for (size_t i = 0; i < shared->threads.size(); ++i)
        out.push_back(shared->parts.data() + i * agent->agent_layout().part_bytes);
      return out;
    });
    // probekit symbolizes the agent's addresses when it prints them, by
    // the modules the address space had (Session::agent_symbolize).
    agent->set_agent_symbolizer([this](const uint8_t*, int, uint64_t addr) {
      testing::FakeHit hit;
      hit.symbols = symbols;
      return hit.symbolize(addr, true);
    });
    if (agent->agent_layout().global_words) {
      agent->init_agent_globals(shared->globals());
      agent->set_agent_globals([this] { return std::vector<uint64_t*>{shared->globals()}; });
    }
  }

  // Fires both; false when the agent could not take the probe (with
  // in_tracer, the agent's program then fires it itself, as probekit does).
  bool fire(const ProbeKey& key, const Hit& h, std::string* why = nullptr, bool in_tracer = false) {
    testing::FakeHit hit;
    hit.tid_ = h.tid;
    hit.comm_ = h.comm;
    hit.ts_ = h.ts;
    hit.memory = h.memory;
    hit.symbols = symbols;
    hit.regs_.rip = h.rip;
    hit.regs_.rbp = h.rbp;
    hit.regs_.rsp = reinterpret_cast<uint64_t>(h.stack);
    FireContext ctx;
    ctx.hit = &hit;
    if (key.name == "return") {  // as d_probes.cpp fills a return's context
      ctx.args[0] = static_cast<uint64_t>(h.ret_offset);
      ctx.args[1] = h.rax;
      ctx.retval = static_cast<int64_t>(h.rax);
    } else {
      for (int i = 0; i < 6; ++i) ctx.args[i] = h.args[i];
      for (int i = 6; i < 10; ++i) ctx.args[i] = h.stack[i - 5];
    }
    const size_t tracer_log = host.log.size(), agent_log = shared->log.size();
    tracer->fire(tracer->register_probe(key).id, ctx);
    const uint32_t id = agent->register_probe(key).id;
    auto code = agent->agent_code(id, why);
    if (!code && in_tracer) agent->fire(id, ctx);
    if (!code) return false;
    shared->run(*code, h);
    // One hit's destructive actions, in a stable order (the agent's
    // override takes effect when the code is done, the host's at once).
    std::sort(host.log.begin() + static_cast<long>(tracer_log), host.log.end());
    std::sort(shared->log.begin() + static_cast<long>(agent_log), shared->log.end());
    if (shared->out_items) {  // what probekit does with the output record
      Program::AgentHit out;
      out.tid = h.tid;
      out.timestamp_ns = h.ts;
      out.items = shared->out.data();
      out.bytes = shared->out.size();
      out.nitems = shared->out_items;
      agent->agent_output(id, out);
    }
    return true;
  }
  void begin() {
    tracer->begin();
    agent->begin();
  }
  void end() {
    tracer->end();
    agent->end();
  }
};

// Why a clause with a string the agent does not compute runs in the tracer.
const char* const kOtherString =
    "a string other than a literal, execname, the probe's names, copyinstr(ADDR), strjoin(), substr() or a "
    "string variable";

std::vector<Hit> some_hits() {
  std::vector<Hit> hits;
  for (int i = 0; i < 40; ++i) {
    Hit h;
    h.tid = 100 + i % 3;
    h.comm = h.tid == 101 ? "worker-thread" : "a.out";
    h.args[0] = static_cast<uint64_t>(i * 37 % 23) - 5;
    h.args[1] = static_cast<uint64_t>(i * 7);
    h.args[2] = static_cast<uint64_t>(-i);
    h.ts = 1000 + static_cast<uint64_t>(i) * 1000 + static_cast<uint64_t>(i * i);
    h.stack[1] = static_cast<uint64_t>(i % 4);
    hits.push_back(h);
  }
  return hits;
}

TEST(AgentCodegen, AggregationsMatchTheTracer) {
  Both b("pid$target::work:entry /(int)arg0 > -3/ {\n"
         "  @c[probefunc, (int)arg0 % 3] = count(); @s[execname] = sum(arg1); @q = quantize((int)arg0);\n"
         "  @l = lquantize(arg1, 0, 100, 10); @a[tid] = avg(arg1); @mn = min((int)arg2); @mx = max(arg1);\n"
         "  @sd = stddev(arg1); @w[arg6] = count(); @inc = quantize(arg1, 3);\n"
         "}\n");
  for (const Hit& h : some_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
  }
  b.end();
  EXPECT_FALSE(b.tracer_out.out_text().empty());
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

// count(), sum() and quantize() without keys update their one entry in
// place in native code (dvm_native.cpp keyless_aggregate) once the
// helper has created it: zero, negative and positive values, the lowest
// and highest buckets, increments.
TEST(AgentCodegen, KeylessAggregationsInPlaceMatchTheTracer) {
  Both b("pid$target::work:entry {\n"
         "  @n = count(); @t = sum((int)arg0); @q = quantize((int)arg0); @inc = quantize(arg1, 3);\n"
         "  @x = quantize((int64_t)arg1 << 58); @y = quantize(-(int64_t)arg1 << 57);\n"
         "}\n");
  for (const Hit& h : some_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
    EXPECT_EQ(FakeAgent::native_form(), "native code");
  }
  b.end();
  EXPECT_NE(b.tracer_out.out_text().find("-4611686018427387904 |@"), std::string::npos) << b.tracer_out.out_text();
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

// Signed % is DTrace's in both places (dtrace-utils' tst.moddiv): negative
// when the operands' signs differ, for a constant divisor and a variable one.
TEST(AgentCodegen, SignedRemainderFollowsDTracesSignRule) {
  Both b("pid$target::work:entry {\n"
         "  @m[(int)arg0 % -3, (int)arg0 % ((int)arg2 - 1), (int)arg0 / -3, (int)arg0 % 4] = count();\n"
         "}\n");
  for (const Hit& h : some_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
  }
  b.end();
  // arg0 = 5: 5 % -3 is -2 as DTrace has it (C: 2), 5 / -3 is -1, 5 % 4 is 1;
  // arg0 = -5: -5 % -3 is 2 (C: -2), -5 / -3 is 1, -5 % 4 is -1.
  EXPECT_NE(b.tracer_out.out_text().find("\n       -2        0       -1        1 "), std::string::npos)
      << b.tracer_out.out_text();
  EXPECT_NE(b.tracer_out.out_text().find("\n        2        0        1       -1 "), std::string::npos)
      << b.tracer_out.out_text();
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

// D computes in 64 bits and narrows a value only where it is stored, cast
// or recorded (dtrace-utils' BPF registers; arithmetic/tst.basics): an int
// shifted past bit 31 is still positive in a comparison, divides as its
// 64-bit value and prints as an int, in the tracer and in native code alike.
TEST(AgentCodegen, IntegersAreComputedIn64BitsAndNarrowedWhereRecordedAsInTheTracer) {
  Both b("pid$target::work:entry {\n"
         "  @k[(int)arg1 << 28] = sum(((int)arg1 << 28) / 4);\n"
         "  @c[((int)arg1 << 28) > 0, -((int)arg1 << 28) < 0] = count();\n"
         "  self->n = (int)arg1 << 28; @s = sum(self->n);\n"
         "  printf(\"%d %d %d\\n\", (int)arg1 << 28, -((int)arg1 << 28) >> 30, arg1 ? ~0 : 1 << 31);\n"
         "}\n");
  for (const Hit& h : some_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
    EXPECT_EQ(FakeAgent::native_form(), "native code");
  }
  b.end();
  const std::string& out = b.tracer_out.out_text();
  // arg1 = 14: 14 << 28 is 3758096384, an int -536870912 when printed;
  // -3758096384 >> 30 is -4; 1 << 31 prints as an int.
  EXPECT_NE(out.find("\n-536870912 -4 -1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("0 0 -2147483648\n"), std::string::npos) << out;
  // Positive before narrowing: no hit but the first (arg1 = 0) compares <= 0.
  EXPECT_NE(out.find("        1        1               39\n"), std::string::npos) << out;
  EXPECT_EQ(b.agent_out.out_text(), out);
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

// ufunc(), usym(), uaddr() and umod() keys and trace() values in the
// agent: it keeps the address, probekit symbolizes it when it prints, to
// the tracer's text and key identity (two addresses in one function are
// one ufunc() key).
TEST(AgentCodegen, SymbolKeysAndValuesAreSymbolizedWhenPrintedAsTheTracerDoes) {
  Both b("pid$target::work:entry {\n"
         "  @f[ufunc(arg0)] = count(); @s[usym(arg0), (int)arg1 % 2] = sum(arg1); @a[uaddr(arg0)] = count();\n"
         "  @m[umod(arg0)] = count();\n"
         "}\n"
         "pid$target::work:entry /arg1 % 7 == 0/ { trace(ufunc(arg0)); printf(\"%a %A\\n\", arg0, arg0); trace(uaddr(arg0)); }\n");
  b.symbols = {{0x1000, 0x40, "work"}, {0x1040, 0x100, "rest"}, {0x7f0000, 0x80, "malloc", "libc.so.6"}};
  for (int i = 0; i < 30; ++i) {
    Hit h;
    h.args[0] = std::vector<uint64_t>{0x1000, 0x1010, 0x1050, 0x7f0010, 0x7f0000, 0x5000}[static_cast<size_t>(i) % 6];
    h.args[1] = static_cast<uint64_t>(i);
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
  }
  b.end();
  EXPECT_NE(b.tracer_out.out_text().find("a.out`work"), std::string::npos) << b.tracer_out.out_text();
  EXPECT_NE(b.tracer_out.out_text().find("libc.so.6`malloc+0x10"), std::string::npos) << b.tracer_out.out_text();
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

// The frames of a fake stack: (saved rbp, return address) pairs at fp.
std::string frame_bytes(uint64_t next_fp, uint64_t ret) {
  std::string b(16, '\0');
  std::memcpy(b.data(), &next_fp, 8);
  std::memcpy(b.data() + 8, &ret, 8);
  return b;
}

// ustack() keys, ustackdepth and ucaller in the agent: the thread's walk
// (pk_dvm_ustack) interned in its stack table, read back and symbolized
// when printed, as the tracer's ustack() prints (the call frame rule's
// caller is the chain's first frame here: the fake tracer host walks the
// chain only). A chain that ends in a fault ends the walk where the
// tracer's ends; ustack(1) keeps the first frame only.
TEST(AgentCodegen, UstackKeysDepthAndCallerMatchTheTracer) {
  Both b("pid$target::work:entry { @s[ustack()] = count(); @t[ustack(2), tid] = sum(arg1); @d[ustackdepth] = count();\n"
         "  @c[ucaller] = count(); @o[ustack(1)] = count(); }\n"
         "pid$target::work:entry /ustackdepth > 3/ { @deep = count(); }\n");
  b.symbols = {{0x1000, 0x40, "work"}, {0x1040, 0x100, "run"}, {0x2000, 0x100, "main"},
               {0x7f0000, 0x80, "start_thread", "libc.so.6"}};
  b.host.walk = true;
  for (int i = 0; i < 30; ++i) {
    Hit h;
    h.tid = 100 + i % 3;
    h.args[1] = static_cast<uint64_t>(i);
    h.rip = 0x1000 + static_cast<uint64_t>(i % 2) * 4;
    const uint64_t caller = i % 5 == 0 ? 0x2010 : 0x1050 + static_cast<uint64_t>(i % 3);
    h.stack[0] = caller;
    h.rbp = 0x9000;
    if (i % 7 == 3) {
      h.memory[0x9000] = frame_bytes(0xa000, caller);  // the next frame is unreadable: the walk ends there
    } else {
      h.memory[0x9000] = frame_bytes(0x9100, caller);
      h.memory[0x9100] = frame_bytes(i % 4 ? 0x9200 : 0x9100, 0x2020);  // a frame pointer that does not grow ends it
      h.memory[0x9200] = frame_bytes(0, 0x7f0010);
    }
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
  }
  b.end();
  EXPECT_NE(b.tracer_out.out_text().find("a.out`work+0x4\n              a.out`run+0x11\n              a.out`main+0x20\n"
                                         "              libc.so.6`start_thread+0x10\n"),
            std::string::npos)
      << b.tracer_out.out_text();
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

// llquantize in the agent: steps above and below the factor, a low
// magnitude above 0, values under the low edge, past the top and negative,
// and a weight.
TEST(AgentCodegen, LlquantizeBucketsMatchTheTracer) {
  Both b("pid$target::work:entry {\n"
         "  @a = llquantize((int64_t)arg1 * (int64_t)arg1 - 5000, 10, 0, 4, 20);\n"
         "  @b = llquantize((int64_t)arg2 * 1000, 2, 3, 10, 4);\n"
         "  @c[tid] = llquantize(arg1, 4, 1, 3, 2, 7);\n"
         "}\n");
  for (const Hit& h : some_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
  }
  b.end();
  for (const char* edge : {"<= -2048", "abs() < 8", ">= 256"})  // under, below, past the top
    EXPECT_NE(b.tracer_out.out_text().find(edge), std::string::npos) << edge << "\n" << b.tracer_out.out_text();
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

TEST(AgentCodegen, ThreadLocalsPredicatesAndArithmeticMatchTheTracer) {
  Both b("pid$target::work:entry { self->n++; self->t += arg1 * 3 - (arg0 >> 2); self->ts = timestamp; }\n"
         "pid$target::work:entry /self->n > 2 && execname == \"a.out\"/ { @big[tid, self->n] = count(); self->n = 0; }\n"
         "pid$target::work:entry /execname != \"a.out\" || (uint8_t)arg0 == 7/ { @odd[execname] = sum(self->t); }\n"
         "pid$target::work:entry { @e = sum(arg0 ? (arg1 & 0xff) ^ 5 : -(int64_t)arg2 << 3); }\n"
         "pid$target::work:entry /self->ts - 500 > 20000/ { @late[probefunc, probemod] = count(); }\n");
  for (const Hit& h : some_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
  }
  b.end();
  EXPECT_FALSE(b.tracer_out.out_text().empty());
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
}

// Global integers in the agent: one word per process that BEGIN's value
// reaches before the first hit, that agent clauses read, store and add to,
// and that the tracer's own clauses (END, a probe it runs) read and change.
TEST(AgentCodegen, GlobalVariablesMatchTheTracer) {
  Both b("uint8_t small;\n"
         // total, down and prod are assigned before `op=` reads them (dtrace: D_VAR_UNDEF).
         "BEGIN { base = 7; small = 250; mixed = 1; total = 0; down = 0; prod = 0; }\n"
         "pid$target::work:entry { n++; total += arg1; down -= 2; last = arg0; prod *= 1; small++; }\n"
         "pid$target::work:entry /base == 7 && n % 4 == 1/ { @at[n, (int)last] = count(); mixed = mixed * 3 + 1; }\n"
         "pid$target::rest:entry { printf(\"%s %d\\n\", toupper(execname), n); n += 1000; mixed = 2; mixed = mixed / (n - n); }\n"
         "ERROR { printf(\"error %d\\n\", mixed); }\n"
         "END { printf(\"%d %d %d %d %d %d %d\\n\", n, total, down, last, base, mixed, small); }\n");
  b.begin();
  const std::vector<Hit> hits = some_hits();
  for (size_t i = 0; i < hits.size(); ++i) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, hits[i], &why)) << why;
    if (i == 20) {
      EXPECT_FALSE(b.fire(kRest, hits[i], nullptr, true));  // a string output: the tracer's clause
    }
  }
  b.end();
  EXPECT_NE(b.tracer_out.out_text().find("1040 "), std::string::npos) << b.tracer_out.out_text();
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
  EXPECT_EQ(b.agent->clause_place(1), "");
  EXPECT_EQ(b.agent->clause_place(2), "");
  EXPECT_NE(b.agent->clause_place(3), "");
  // A store before a fault stays, and ERROR (fired inside that firing) sees it.
  EXPECT_NE(b.agent_out.out_text().find("error 2\n"), std::string::npos) << b.agent_out.out_text();
}

// Associative arrays of integers in the agent: ++, +=, stores, reads in
// predicates and keys, deleting by storing 0, and the tracer's END reading
// the agent's table.
TEST(AgentCodegen, AssociativeArraysMatchTheTracer) {
  Both b("pid$target::work:entry { a[arg0 & 7]++; b[tid, arg1 & 3] += arg1; c[arg0 & 3] = arg1; d[arg1] -= 1; }\n"
         "pid$target::work:entry /a[arg0 & 7] == 3/ { c[arg0 & 3] = 0; @x[arg0 & 7, c[1]] = count(); d[arg1] = 0; }\n"
         "pid$target::work:entry /a[arg0 & 7] > 4/ { a[arg0 & 7] *= 2; }\n"
         "END { printf(\"%d %d %d %d %d %d %d %d\\n\", a[0], a[1], a[5], b[101, 3], b[102, 1], c[1], c[2], d[14]); }\n");
  for (const Hit& h : some_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
  }
  b.end();
  EXPECT_NE(b.tracer_out.out_text().find(" "), std::string::npos) << b.tracer_out.out_text();
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

// self-> variables are charged to -x dynvarsize as the tracer charges
// them: each variable on its own (8 bytes here: dtrace-utils' size of a
// dynamic variable, d::dynamic_variable_bytes) at its first non-zero
// store, and storing 0 allocates nothing (self->b never exists); 16 bytes
// hold two threads' self->a, the third's stores are drops, and it reads 0.
TEST(AgentCodegen, SelfVariablesAreChargedToDynvarsizeAsTheTracerChargesThem) {
  Both b("#pragma D option dynvarsize=16\n"
         "pid$target::work:entry /arg1 % 2 == 0/ { self->a += arg1; }\n"
         "pid$target::work:entry /arg1 % 2 == 1/ { self->b = 0; @[tid] = sum(self->a + self->b); }\n");
  for (const Hit& h : some_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
  }
  b.end();
  EXPECT_NE(b.tracer_out.err_text().find("dynamic variable drops"), std::string::npos) << b.tracer_out.err_text();
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

// Storing 0 to a self-> variable deletes it and gives its room back
// (dtrace-utils' dt_get_dvar), and a drop ends its clause, no error
// (dt_cg_store_var returns from the clause). 8 bytes hold two int
// variables. The first hit (tid 100) takes and frees self->a, then keeps
// self->b and self->c: the room is full. Every later hit drops self->a
// (its first clause ends before sum()); tid 100's go on in the second
// clause (b and c exist), the other threads' drop self->b there, so
// @m counts tid 100's 14 hits and nothing after a drop runs: 13 + 2 * 26
// drops.
TEST(AgentCodegen, StoringZeroToASelfVariableGivesItsRoomBackAndADropEndsTheClause) {
  Both b("#pragma D option dynvarsize=8\n"
         "pid$target::work:entry { self->a = 1; @s[tid] = sum(self->a); self->a = 0; }\n"
         "pid$target::work:entry { @n = count(); self->b = 1; self->c = 1; @m = count(); }\n");
  for (const Hit& h : some_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
  }
  b.end();
  EXPECT_NE(b.tracer_out.err_text().find("probekit: 65 dynamic variable drops"), std::string::npos)
      << b.tracer_out.err_text();
  EXPECT_NE(b.tracer_out.out_text().find("      100                1\n"), std::string::npos)
      << b.tracer_out.out_text();
  EXPECT_EQ(b.tracer_out.out_text().find("101"), std::string::npos) << b.tracer_out.out_text();
  EXPECT_NE(b.tracer_out.out_text().find("\n               40\n"), std::string::npos) << b.tracer_out.out_text();
  EXPECT_NE(b.tracer_out.out_text().find("\n               14\n"), std::string::npos) << b.tracer_out.out_text();
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

// Elements that find no room in -x dynvarsize are dynamic variable drops,
// counted as the tracer counts them; a store of 0 to a missing element
// allocates nothing, so it is never one (dtrace-utils' dt_get_assoc). An
// element takes 28 bytes (a tuple of the id, the 8-byte key at 8 and the
// thread key, 24, and an int value): 280 bytes hold 10.
TEST(AgentCodegen, AFullDynvarsizeCountsTheTracersDrops) {
  Both b("#pragma D option dynvarsize=280\n"
         "pid$target::work:entry { a[arg1] += 1; z[arg1] = 0; }\n"
         "END { printf(\"%d %d %d\\n\", a[0], a[63], a[266]); }\n");
  for (const Hit& h : some_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
  }
  b.end();
  EXPECT_EQ(b.tracer_out.out_text(), "1 1 0\n\n");
  // 30 keys of a[] past the 10 that fit; none of z[].
  EXPECT_NE(b.tracer_out.err_text().find("probekit: 30 dynamic variable drops"), std::string::npos) << b.tracer_out.err_text();
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

// Declared this-> and self-> arrays (of structs too) are the tracer's: the
// agent refuses the clauses that use them (the first thing it cannot run
// is the store to an element), which then run in the tracer beside an
// agent clause at another probe, and print what the tracer alone prints.
TEST(AgentCodegen, LocalArraysOfStructsStayInTheTracerBesideAgentClauses) {
  Both b("struct rec { int n; long sum; };\n"
         "self struct rec r[2];\n"
         "this int t[3];\n"
         "pid$target::work:entry { this->t[2] = arg0; self->r[arg0 % 2].n++; self->r[arg0 % 2].sum += this->t[2]; }\n"
         "pid$target::rest:entry { @n = sum(arg0); }\n"
         "pid$target::work:entry /arg0 == 4/ {\n"
         "  printf(\"%d %d %d %d\\n\", self->r[0].n, self->r[0].sum, self->r[1].n, self->r[1].sum); }\n");
  b.begin();
  for (uint64_t i = 0; i < 5; ++i) {
    Hit h;
    h.args[0] = i;
    EXPECT_FALSE(b.fire(kWork, h, nullptr, true));
    std::string why;
    ASSERT_TRUE(b.fire(kRest, h, &why)) << why;
  }
  b.end();
  EXPECT_EQ(b.agent->clause_place(0), "assigning anything but a variable");  // this->t[2] = arg0
  EXPECT_EQ(b.agent->clause_place(1), "");
  EXPECT_EQ(b.tracer_out.out_text(), "3 6 2 4\n\n               10\n");
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
}

TEST(AgentCodegen, StateSharedWithATracerClauseStaysInTheTracer) {
  Both b("pid$target::work:entry { self->ts = timestamp; @n = count(); }\n"
         "pid$target::rest:entry { trace(toupper(execname)); trace(self->ts); }\n"
         "pid$target::rest:entry { @m = count(); }\n"
         "tick-1s { clear(@m); }\n"
         "pid$target::work:entry /arg0 / arg1 > 1/ { @d = count(); }\n");
  std::string why;
  EXPECT_FALSE(b.agent->agent_code(b.agent->register_probe(kWork).id, &why));
  EXPECT_NE(why.find("self->ts is also used by a clause that runs in the tracer"), std::string::npos) << why;
  EXPECT_EQ(b.agent->clause_place(0), "self->ts is also used by a clause that runs in the tracer");
  EXPECT_EQ(b.agent->clause_place(1), kOtherString);
  EXPECT_EQ(b.agent->clause_place(2), "it only counts: the jump site's counter does it");
  EXPECT_EQ(b.agent->clause_place(4), "clause 1, which runs in the tracer, may fire for the same probes");
}

TEST(AgentCodegen, OnlyPidEntryAndReturnProbesWithAStatement) {
  Both b("syscall::read:entry { @r = count(); } pid$target::work:entry { } "
         "pid$target::rest:entry /arg0 == 12345/ { @hit = count(); }");
  EXPECT_EQ(b.agent->clause_place(0), "only pid entry and return probes run in the agent");
  EXPECT_EQ(b.agent->clause_place(1), "a clause without statements prints the probe (the tracer does)");
  EXPECT_EQ(b.agent->clause_place(2), "");
  Hit miss, hit;
  hit.args[0] = 12345;
  for (const Hit& h : {miss, hit, miss, hit, hit}) ASSERT_TRUE(b.fire(kRest, h));
  b.end();
  EXPECT_EQ(b.agent_out.out_text(), "\n                3\n");
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
}

TEST(AgentCodegen, AnAggregationKeyedTwoWaysStaysInTheTracerWithItsClauses) {
  // @k keyed by the probe's name in one clause and by execname in the
  // other: the agent keeps them differently (a string id, the thread's
  // name), so the second clause, and then everything it shares (@k,
  // self->n), runs in the tracer.
  Both b("pid$target::work:entry /arg0/ { @k[probefunc] = count(); }\n"
         "pid$target::work:entry /arg1/ { @k[execname] = count(); self->n++; }\n"
         "pid$target::rest:entry { @m = max(self->n); }\n"
         "pid$target::rest:entry { @other = sum(arg0); }\n");
  EXPECT_EQ(b.agent->clause_place(0), "@k is also changed in the tracer");
  EXPECT_EQ(b.agent->clause_place(1), "@k is keyed differently elsewhere");
  EXPECT_EQ(b.agent->clause_place(2), "self->n is also used by a clause that runs in the tracer");
  EXPECT_EQ(b.agent->clause_place(3), "clause 3, which runs in the tracer, may fire for the same probes");
}

TEST(AgentCodegen, AProbeRunsAllItsClausesInOnePlace) {
  // malloc fires both clauses; the second prints (the tracer): so the
  // first runs there too. free's clause shares no probe with it.
  Both b("pid$target::malloc:entry, pid$target::calloc:entry /arg0 > 5/ { @big[probefunc] = count(); }\n"
         "pid$target::m*:entry { printf(\"%s\\n\", toupper(execname)); }\n"
         "pid$target::free:entry /arg0/ { @f = count(); }\n");
  EXPECT_EQ(b.agent->clause_place(0), "clause 2, which runs in the tracer, may fire for the same probes");
  EXPECT_EQ(b.agent->clause_place(1), kOtherString);
  EXPECT_EQ(b.agent->clause_place(2), "");
}

TEST(AgentCodegen, OutputActionsPrintAsTheTracerPrintsThem) {
  Both b("pid$target::work:entry /(int)arg0 % 3 == 0/ { self->n++; printf(\"%d %u %x|%5d|\\n\", (int)arg0, self->n, arg1, tid); "
         "trace((int)arg2 * 2); @c[tid] = count(); }\n"
         "pid$target::work:entry /self->n == 2/ { printf(\"two %d\\n\", (uint8_t)arg1); printa(\"%d %@d\\n\", @c); }\n"
         "pid$target::work:entry /arg1 == 245/ { trace(timestamp); exit(3); }\n");
  for (const Hit& h : some_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
    if (b.tracer->exit_requested()) break;  // the session stops
  }
  EXPECT_TRUE(b.agent->exit_requested());
  EXPECT_EQ(b.agent->exit_status(), 3);
  EXPECT_NE(b.tracer_out.out_text().find("-415 2 38|  102|\n-16two 56\n101 1\n102 2\n"), std::string::npos)
      << b.tracer_out.out_text();
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

TEST(AgentCodegen, ClauseLocalVariablesStartAtZeroAtEachFiring) {
  Both b("pid$target::work:entry { this->a += arg1; this->b = (int)arg0 * 2; }\n"
         "pid$target::work:entry /this->a % 2 == 0/ { this->a++; @s[this->b] = sum(this->a); printf(\"%d %d\\n\", this->a, this->b); }\n"
         "pid$target::work:entry { self->n += this->a; @n[tid] = max(self->n); }\n");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.agent->clause_place(static_cast<size_t>(i)), "");
  for (const Hit& h : some_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
  }
  b.end();
  EXPECT_NE(b.tracer_out.out_text().find("1 -10\n"), std::string::npos) << b.tracer_out.out_text();
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
}

TEST(AgentCodegen, CopyinstrIsReadIntoTheOutputAndABadAddressIsAnError) {
  Both b("#pragma D option strsize=8\n"
         "pid$target::work:entry { printf(\"[%s] %d [%s]\\n\", copyinstr(arg0), arg2, copyinstr(arg1)); trace(copyinstr(arg1)); }\n"
         "ERROR { printf(\"E %d %d %d %x\\n\", arg1, arg2, arg4, arg5); }\n");
  EXPECT_EQ(b.agent->clause_place(0), "");
  std::vector<Hit> hits(5);
  for (size_t i = 0; i < hits.size(); ++i) {
    Hit& h = hits[i];
    h.memory[0x1000] = std::string("hi\0there", 8);
    h.memory[0x2000] = "0123456789abcdef";  // longer than strsize
    h.memory[0x3000] = "xyz";                // no NUL before the region ends
    h.args[0] = i == 3 ? 0x10 : 0x1000 + i % 2;
    h.args[1] = i == 2 ? 0x3000 : 0x2000 + i;
    h.args[2] = i;
  }
  for (const Hit& h : hits) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
  }
  b.end();
  EXPECT_EQ(b.tracer_out.out_text(),
            "[hi] 0 [01234567]\n01234567[i] 1 [12345678]\n12345678[hi] 2 [xyz]\nxyzE 4 0 1 10\n[hi] 4 [456789ab]\n456789ab\n");
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

TEST(AgentCodegen, StringComparisonsAndMemoryReadsMatchTheTracer) {
  Both b("#pragma D option strsize=8\n"
         "pid$target::work:entry /copyinstr(arg0) == \"hi\"/ { @eq[arg2] = count(); }\n"
         "pid$target::work:entry /copyinstr(arg1) < \"01234568\" && \"xz\" >= copyinstr(arg1)/ { @lt[arg2] = count(); }\n"
         "pid$target::work:entry /copyinstr(arg0) != \"i\"/ { printf(\"%d %d %u\\n\", arg2, *(int *)arg3, *(uint8_t *)(arg3 + 1)); }\n"
         "ERROR { printf(\"E %d %d %d %x\\n\", arg1, arg2, arg4, arg5); }\n");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.agent->clause_place(static_cast<size_t>(i)), "");
  std::vector<Hit> hits(6);
  for (size_t i = 0; i < hits.size(); ++i) {
    Hit& h = hits[i];
    h.memory[0x1000] = std::string("hi\0there", 8);
    h.memory[0x2000] = "0123456789abcdef";
    h.memory[0x3000] = "xyz";
    h.memory[0x4000] = std::string("\xfb\xff\xff\xff", 4);  // -5
    h.args[0] = i == 4 ? 0x20 : i == 5 ? 0x1000 : 0x1000 + i % 2;
    h.args[1] = i == 2 ? 0x3000 : 0x2000 + i;
    h.args[2] = i;
    h.args[3] = i == 5 ? 0x4002 : 0x4000;  // the int runs off the region
  }
  for (const Hit& h : hits) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
  }
  b.end();
  EXPECT_NE(b.tracer_out.out_text().find("0 -5 255\n"), std::string::npos) << b.tracer_out.out_text();
  EXPECT_NE(b.tracer_out.out_text().find("E 4 0 1 20\n"), std::string::npos) << b.tracer_out.out_text();
  EXPECT_NE(b.tracer_out.out_text().find("E 4 2 1 4002\n"), std::string::npos) << b.tracer_out.out_text();
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

// Hits whose arg0 and arg1 point at strings: short, empty, longer than
// strsize (8), without a NUL before the readable memory ends, and (arg0 of
// the fourth) nothing readable.
std::vector<Hit> string_hits() {
  std::vector<Hit> hits(12);
  const uint64_t at[] = {0x1000, 0x2000, 0x3000, 0x5000, 0x6000, 0x1001};
  for (size_t i = 0; i < hits.size(); ++i) {
    Hit& h = hits[i];
    h.tid = 100 + static_cast<int>(i % 3);
    h.comm = h.tid == 101 ? "worker" : "a.out";
    h.memory[0x1000] = std::string("hi\0there", 8);
    h.memory[0x2000] = "0123456789abcdef";   // longer than strsize
    h.memory[0x3000] = "xyz";                // no NUL before the region ends
    h.memory[0x5000] = std::string("\0", 1);  // empty
    h.memory[0x6000] = std::string("work\0", 5);
    h.args[0] = i == 3 ? 0x10 : at[i % 6];
    h.args[1] = at[(i * 5 + 1) % 6];
    h.args[2] = i;
    h.ts = 1000 + i;
  }
  return hits;
}

TEST(AgentCodegen, StringKeysFromCopyinstrMatchTheTracer) {
  Both b("#pragma D option strsize=8\n"
         "pid$target::work:entry { @s[copyinstr(arg0)] = count(); @m[copyinstr(arg1), arg2 % 2] = sum(arg2); }\n"
         "pid$target::work:entry { @e[execname, copyinstr(arg1)] = max(arg2); }\n"
         "ERROR { printf(\"E %d %d %d %x\\n\", arg1, arg2, arg4, arg5); }\n");
  for (int i = 0; i < 2; ++i) EXPECT_EQ(b.agent->clause_place(static_cast<size_t>(i)), "");
  for (const Hit& h : string_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
  }
  b.end();
  const std::string& out = b.tracer_out.out_text();
  EXPECT_NE(out.find("E 4 0 1 10\n"), std::string::npos) << out;  // the unreadable one: ERROR, no key
  // The empty key once (the other empty one was the unreadable address),
  // and one clipped to strsize.
  EXPECT_NE(out.find("\n                                                                    1\n"
                     "  01234567                                                          2\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("  worker                                                                                                               10\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(b.agent_out.out_text(), out);
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

TEST(AgentCodegen, StringVariablesMatchTheTracer) {
  Both b("#pragma D option strsize=8\n"
         "pid$target::work:entry { self->name = copyinstr(arg0); }\n"
         "pid$target::work:entry /self->name != \"hi\"/ {\n"
         "  this->s = arg2 % 2 ? execname : probefunc; @n[self->name, this->s] = count();\n"
         "  printf(\"%s|%s|%s|%d\\n\", self->name, this->s, self->other, strlen(self->name)); trace(self->name); }\n"
         "pid$target::work:return /self->name == \"hi\" || self->name > \"1\"/ { @r[self->name, execname] = count(); }\n"
         "pid$target::work:return { @l[strlen(self->name)] = count(); self->other = self->name; self->name = \"x\"; }\n"
         "ERROR { printf(\"E %d %d %d %x\\n\", arg1, arg2, arg4, arg5); }\n");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(b.agent->clause_place(static_cast<size_t>(i)), "");
  for (Hit h : string_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
    h.rax = h.args[2];
    ASSERT_TRUE(b.fire(kWorkReturn, h, &why)) << why;
  }
  b.end();
  const std::string& out = b.tracer_out.out_text();
  // Clipped, execname in a this-> string, self->other unset (""), then the
  // fault (self->name keeps "x", the return's store).
  EXPECT_NE(out.find("01234567|worker||8\n01234567xyz|work||3\nxyzE 4 0 1 10\nx|a.out|hi|1\n"), std::string::npos)
      << out;
  EXPECT_EQ(b.agent_out.out_text(), out);
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

// String globals in the agent: stored from copyinstr() and other
// strings, read in predicates, keys and printf, set by tracer clauses
// (BEGIN, one with toupper()) between agent hits and printed at END: what
// the tracer prints, a never-set one "", a long copyinstr() clipped to
// strsize.
TEST(AgentCodegen, StringGlobalsMatchTheTracer) {
  Both b("#pragma D option strsize=8\n"
         "string never;\n"
         "BEGIN { first = \"begin\"; }\n"
         "pid$target::work:entry { last = copyinstr(arg0); @k[last, first] = count(); n = strlen(last); }\n"
         "pid$target::work:entry /last == \"xyz\" || first != \"begin\"/ {\n"
         "  first = last; printf(\"%s|%s|%s|%d\\n\", first, last, never, n); }\n"
         "pid$target::rest:entry { printf(\"%s %s\\n\", toupper(last), first); first = \"tracer\"; }\n"
         "ERROR { printf(\"E %s %s\\n\", last, first); }\n"
         "END { printf(\"%s|%s|%s|%d\\n\", first, last, never, n); }\n");
  EXPECT_EQ(b.agent->clause_place(1), "");
  EXPECT_EQ(b.agent->clause_place(2), "");
  EXPECT_NE(b.agent->clause_place(3), "");
  b.begin();
  const std::vector<Hit> hits = string_hits();
  for (size_t i = 0; i < hits.size(); ++i) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, hits[i], &why)) << why;
    if (i == 1 || i == 7) {
      EXPECT_FALSE(b.fire(kRest, hits[i], nullptr, true));  // toupper(): the tracer's clause
    }
  }
  b.end();
  const std::string& out = b.tracer_out.out_text();
  EXPECT_NE(out.find("01234567 01234567\nxyz|xyz||3\n|||0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("  xyz                                                 tracer                                                            2\n"), std::string::npos) << out;
  EXPECT_EQ(b.agent_out.out_text(), out);
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

// Associative arrays keyed by strings (alone and mixed with integers) in
// the agent's tables: ++, +=, stores, deletes, reads in predicates, and
// END reading them; each element charged as the tracer charges it (its
// string keys by length), so a small dynvarsize drops the same stores.
TEST(AgentCodegen, StringKeysOfAssociativeArraysMatchTheTracer) {
  for (const char* dyn : {"", "#pragma D option dynvarsize=400\n"}) {
    Both b(std::string("#pragma D option strsize=8\n") + dyn +
           "pid$target::work:entry { a[copyinstr(arg0)]++; m[copyinstr(arg1), arg2 % 3] += arg2; e[execname] = arg2; }\n"
           "pid$target::work:entry /a[copyinstr(arg0)] == 2/ { m[\"hi\", 1] = 0; @x[copyinstr(arg0)] = count(); }\n"
           "END { printf(\"%d %d %d %d %d %d %d %d\\n\", a[\"hi\"], a[\"01234567\"], a[\"xyz\"], a[\"\"], m[\"hi\", 1],\n"
           "  m[\"work\", 0], e[\"worker\"], e[\"a.out\"]); }\n");
    EXPECT_EQ(b.agent->clause_place(0), "");
    EXPECT_EQ(b.agent->clause_place(1), "");
    for (const Hit& h : string_hits()) {
      std::string why;
      ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
    }
    b.end();
    const std::string& out = b.tracer_out.out_text();
    EXPECT_EQ(b.agent_out.out_text(), out);
    EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
    if (*dyn) {
      EXPECT_NE(b.tracer_out.err_text().find("dynamic variable drops"), std::string::npos) << b.tracer_out.err_text();
    } else {
      EXPECT_EQ(out.substr(0, out.find('\n') + 1), "2 2 2 1 0 9 10 11\n") << out;
    }
  }
}

// Associative arrays of strings in the agent's tables: stored from
// copyinstr() and execname, keyed by integers and strings, read back in
// predicates, keys, comparisons, strlen() and printf, deleted by storing
// "" (and a store of "" to a missing element), printed at END; each
// element charged as the tracer charges it (strsize for the value), so a
// small dynvarsize drops the same stores and reports as many drops.
TEST(AgentCodegen, AssociativeArraysOfStringsMatchTheTracer) {
  for (const char* dyn : {"", "#pragma D option dynvarsize=300\n"}) {
    Both b(std::string("#pragma D option strsize=8\n") + dyn +
           "pid$target::work:entry { names[tid] = copyinstr(arg0); w[execname, arg2 % 2] = copyinstr(arg1); }\n"
           "pid$target::work:entry /names[tid] == \"hi\" || w[execname, 1] > names[tid]/ {\n"
           "  @k[names[tid], w[execname, 0]] = count(); self->s = w[execname, 1];\n"
           "  printf(\"%d %s|%s|%d\\n\", tid, names[tid], self->s, strlen(w[execname, 0])); }\n"
           "pid$target::work:entry /arg2 == 7/ { names[101] = \"\"; w[\"none\", 3] = \"\"; c[arg2] = execname; }\n"
           "END { printf(\"%s|%s|%s|%s|%s|%s|%s|%s|%s\\n\", names[100], names[101], names[102], names[999],\n"
           "  w[\"a.out\", 0], w[\"a.out\", 1], w[\"worker\", 0], w[\"worker\", 1], c[7]); }\n");
    for (int i = 0; i < 3; ++i) EXPECT_EQ(b.agent->clause_place(static_cast<size_t>(i)), "") << i;
    for (const Hit& h : string_hits()) {
      std::string why;
      ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
    }
    b.end();
    const std::string& out = b.tracer_out.out_text();
    EXPECT_EQ(b.agent_out.out_text(), out);
    EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
    if (*dyn) {
      EXPECT_NE(b.tracer_out.err_text().find("dynamic variable drops"), std::string::npos) << b.tracer_out.err_text();
    } else {
      EXPECT_NE(out.find("\n|work|i||i|xyz||hi|worker\n"), std::string::npos) << out;
    }
  }
}

// Clauses with strings (copyinstr, string variables and globals,
// comparisons, strlen, string keys, strjoin, substr, literals, execname)
// compile to native code, which calls the agent's string helper for each
// op that reads or copies; both forms leave the same state at every hit
// (FakeAgent::run), the tracer prints the same.
TEST(AgentCodegen, ClausesWithStringsRunAsNativeCodeAsTheTracerRunsThem) {
  Both b("#pragma D option strsize=8\n"
         "pid$target::work:entry /copyinstr(arg0) != \"xyz\" && execname == \"a.out\"/ {\n"
         "  self->n = copyinstr(arg1); g = strjoin(self->n, execname); @s[copyinstr(arg0), strlen(self->n)] = count();\n"
         "  @j[g, substr(g, 2, 3), self->n > \"hi\"] = count(); this->t = probefunc; @t[this->t] = count(); }\n"
         "ERROR { printf(\"E %d %d %d %x\\n\", arg1, arg2, arg4, arg5); }\n"
         "END { printf(\"%s\\n\", g); }\n");
  EXPECT_EQ(b.agent->clause_place(0), "");
  for (const Hit& h : string_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
    EXPECT_EQ(FakeAgent::native_form(), "native code");
  }
  b.end();
  const std::string& out = b.tracer_out.out_text();
  EXPECT_NE(out.find("E 4 0 1 10\n"), std::string::npos) << out;  // copyinstr's bad address, from native code
  EXPECT_EQ(b.agent_out.out_text(), out);
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

// Every op the agent runs is native code (engine/dvm_native.h): output
// (printf, trace: OUT, OUTS with copyinstr and a string variable), memory
// reads (arg6: STK, *(int *): LOAD), DTrace's faulting division and
// remainder (DIVZ, MODZ), arrays of integers and of strings (AGET, ASET,
// AADD, ASGET, ASSET), ustack() as a key, printed, ustackdepth and ucaller
// (USTACK), exit() (EXIT); no clause is left to the interpreter, both
// forms leave the same state at every hit (FakeAgent::run), and the tracer
// prints the same, faults' ERROR lines included.
TEST(AgentCodegen, EveryOpRunsAsNativeCodeAsTheTracerRunsIt) {
  Both b("#pragma D option strsize=8\n"
         "pid$target::work:entry /arg2 < 20/ {\n"
         "  a[arg2 & 3] += arg6; a[arg2 & 3]++; n[tid] = copyinstr(arg1); @a[a[arg2 & 3], n[tid]] = count();\n"
         "  printf(\"%d [%s] [%s] %d\\n\", arg2, copyinstr(arg0), n[tid], *(int *)arg3);\n"
         "  trace(1000 / (int)(arg2 % 5)); trace(arg6 % (arg2 & 1)); }\n"
         "pid$target::work:entry /arg2 < 20/ { @s[ustack()] = count(); @d[ustackdepth, ucaller] = count();\n"
         "  trace(ustack(2)); }\n"
         "pid$target::work:entry /arg2 == 9/ { exit(0); }\n"
         "ERROR { printf(\"E %d %d %d %x\\n\", arg1, arg2, arg4, arg5); }\n");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.agent->clause_place(static_cast<size_t>(i)), "");
  b.symbols = {{0x1000, 0x40, "work"}, {0x1040, 0x100, "run"}, {0x2000, 0x100, "main"}};
  b.host.walk = true;
  std::vector<Hit> hits = string_hits();
  for (size_t i = 0; i < hits.size(); ++i) {
    Hit& h = hits[i];
    h.memory[0x4000] = std::string("\xfb\xff\xff\xff", 4);  // -5
    h.args[3] = i == 4 ? 0x4002 : 0x4000;                  // the int runs off the region
    h.stack[1] = i * 3;                                     // arg6
    h.rip = 0x1000 + (i % 2) * 4;
    h.stack[0] = 0x1050 + i % 3;
    h.rbp = 0x9000;
    h.memory[0x9000] = frame_bytes(0x9100, h.stack[0]);
    h.memory[0x9100] = frame_bytes(0, 0x2020);
  }
  for (const Hit& h : hits) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
    EXPECT_EQ(FakeAgent::native_form(), "native code");
    if (b.tracer->exit_requested()) break;  // the session stops
  }
  EXPECT_TRUE(b.agent->exit_requested());
  b.end();
  const std::string& out = b.tracer_out.out_text();
  EXPECT_NE(out.find("E 4 0 4 0\n"), std::string::npos) << out;     // 1000 / 0
  EXPECT_NE(out.find("E 4 0 1 10\n"), std::string::npos) << out;    // copyinstr(0x10)
  EXPECT_NE(out.find("E 4 0 1 4002\n"), std::string::npos) << out;  // *(int *)0x4002
  EXPECT_NE(out.find("a.out`work+0x4"), std::string::npos) << out;
  EXPECT_EQ(b.agent_out.out_text(), out);
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

// A string literal longer than strsize is its first strsize bytes in both
// places (dtrace-utils funcs/strlen/tst.capped-sizw): stored into a global,
// a self-> string and an array, measured, compared with copyinstr() and
// keyed by; the clause runs in the agent (it used to be refused there).
TEST(AgentCodegen, AStringLiteralLongerThanStrsizeIsClippedAsInTheTracer) {
  Both b("#pragma D option strsize=8\n"
         "pid$target::work:entry { x = \"abcdefghijkl\"; self->s = \"mnopqrstuvw\"; v[arg2 & 1] = \"ABCDEFGHIJ\";\n"
         "  @[x, strlen(self->s), v[arg2 & 1], copyinstr(arg1) == \"0123456789abcdef\"] = count(); }\n"
         "END { printf(\"%s %d %d\\n\", x, strlen(x), x == \"abcdefgh\"); }\n");
  EXPECT_EQ(b.agent->clause_place(0), "");
  for (const Hit& h : string_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
    EXPECT_EQ(FakeAgent::native_form(), "native code");
  }
  b.end();
  const std::string& out = b.tracer_out.out_text();
  EXPECT_NE(out.find("abcdefgh 8 1\n"), std::string::npos) << out;
  // copyinstr() of "0123456789abcdef" (two hits) equals the literal: both are "01234567".
  EXPECT_NE(out.find("  abcdefgh" + std::string(58, ' ') + "8  ABCDEFGH" + std::string(50, ' ') + "1" +
                     std::string(16, ' ') + "2\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(b.agent_out.out_text(), out);
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

TEST(AgentCodegen, ComparingTwoStringsMatchesTheTracer) {
  Both b("#pragma D option strsize=8\n"
         "pid$target::work:entry /copyinstr(arg0) == copyinstr(arg1)/ { @eq[arg2] = count(); }\n"
         "pid$target::work:entry /copyinstr(arg0) < copyinstr(arg1)/ { @lt[copyinstr(arg0), copyinstr(arg1)] = count(); }\n"
         "pid$target::work:entry /copyinstr(arg1) >= probefunc && execname != copyinstr(arg0)/ { @ge[arg2] = count(); }\n"
         "pid$target::work:entry /execname > probefunc || \"b\" <= \"a\" || probefunc >= \"work\"/ { @c[execname] = count(); }\n"
         "pid$target::work:entry /copyinstr(arg1) <= \"\"/ { @empty = count(); }\n"
         "pid$target::work:entry { @len[strlen(copyinstr(arg1)), strlen(execname)] = count(); }\n");
  for (int i = 0; i < 6; ++i) EXPECT_EQ(b.agent->clause_place(static_cast<size_t>(i)), "") << i;
  for (const Hit& h : string_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
  }
  b.end();
  EXPECT_FALSE(b.tracer_out.out_text().empty());
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

// strjoin() clipped to strsize, substr() with negative and large indices
// and lengths, of target strings, variables and names.
TEST(AgentCodegen, StrjoinAndSubstrMatchTheTracer) {
  Both b("#pragma D option strsize=8\n"
         "pid$target::work:entry { self->j = strjoin(copyinstr(arg0), execname); this->s = substr(copyinstr(arg1), (int)arg2 - 6);\n"
         "  @j[self->j, this->s] = count(); @k[strjoin(probefunc, \"-\"), substr(execname, 1, (int)arg2 - 8)] = count();\n"
         "  printf(\"%s|%s|%s|%s|%s\\n\", self->j, this->s, substr(copyinstr(arg1), 2, 3), substr(probefunc, -3, -1),\n"
         "         strjoin(substr(self->j, 1), \"\")); }\n"
         "ERROR { printf(\"E %d %d %d %x\\n\", arg1, arg2, arg4, arg5); }\n");
  EXPECT_EQ(b.agent->clause_place(0), "");
  for (const Hit& h : string_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
  }
  b.end();
  const std::string& out = b.tracer_out.out_text();
  EXPECT_NE(out.find("hia.out|234567|234|or|ia.out\n"), std::string::npos) << out;
  EXPECT_EQ(b.agent_out.out_text(), out);
  EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
}

TEST(AgentCodegen, AnExitSkipsTheFiringsLaterClausesAsInTheTracer) {
  // dtrace-utils' activity check before each clause: the clause calling
  // exit() runs to its end, the firing's later clauses do not (no "late 1",
  // @c counts the first firing only).
  Both b("pid$target::work:entry /arg2 == 1/ { exit(0); @s = sum(arg2); printf(\"exit %d\\n\", arg2); }\n"
         "pid$target::work:entry /arg2 <= 1/ { @c = count(); printf(\"late %d\\n\", arg2); }\n");
  EXPECT_EQ(b.agent->clause_place(0), "");
  EXPECT_EQ(b.agent->clause_place(1), "");
  for (uint64_t i = 0; i < 2; ++i) {
    Hit h;
    h.args[2] = i;
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
  }
  b.end();
  EXPECT_EQ(b.tracer_out.out_text(), "late 0\nexit 1\n\n                1\n                1\n");
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
}

TEST(AgentCodegen, ADivisionByZeroIsTheTracersErrorAndFiresERROR) {
  // The agent's fault item drops the clause's output so far, as the
  // tracer discards the output of a clause that faulted.
  const std::string prog =
      "pid$target::work:entry { printf(\"a %d\\n\", arg1); printf(\"q %d\\n\", 1000 / ((int)arg0 % 5)); }\n"
      "pid$target::work:entry /arg1 % 100 / ((int)arg0 % 4) == 0/ { trace(arg1); }\n";
  for (const std::string& error : {std::string(), std::string("ERROR { printf(\"E %d %d %d\\n\", arg1, arg2, arg4); }\n")}) {
    Both b(prog + error);
    EXPECT_EQ(b.agent->clause_place(0), "");
    for (const Hit& h : some_hits()) {
      std::string why;
      ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
    }
    b.end();
    EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
    EXPECT_EQ(b.agent_out.err_text(), b.tracer_out.err_text());
    if (error.empty()) {
      EXPECT_NE(b.tracer_out.err_text().find("divide-by-zero at BPF pc 3\n"), std::string::npos)
          << b.tracer_out.err_text();
      EXPECT_NE(b.tracer_out.err_text().find("divide-by-zero at BPF pc 1\n"), std::string::npos)
          << b.tracer_out.err_text();
    } else {
      EXPECT_NE(b.tracer_out.out_text().find("E 4 0 4\n"), std::string::npos) << b.tracer_out.out_text();
      EXPECT_NE(b.tracer_out.out_text().find("E 4 1 4\n"), std::string::npos) << b.tracer_out.out_text();
    }
  }
}

TEST(AgentCodegen, AFullTableCountsDropsAsTheTracerReportsThem) {
  Both b("#pragma D option aggsize=64k\npid$target::work:entry { @[arg0] = count(); }");
  Hit h;
  for (uint64_t i = 0; i < 200; ++i) {
    h.args[0] = i;
    ASSERT_TRUE(b.fire(kWork, h));
  }
  b.agent->end();
  // 64 entries per thread's table: the other 136 keys are dropped.
  EXPECT_EQ(b.agent_out.err_text(), "probekit: 136 aggregation drops on CPU 0\n");
}

// Return clauses: arg1 and retval are rax, arg0 the returning instruction's
// offset (PK_DVAR_RETOFF), self-> set at the entry read at the return; the
// agent's code and the tracer print the same. Each thread enters and
// returns in turn, recursing two deep now and then.
TEST(AgentCodegen, ReturnClausesMatchTheTracer) {
  Both b("pid$target::work:entry { self->ts = timestamp; self->depth++; }\n"
         "pid$target::work:return /self->ts/ {\n"
         "  @lat = quantize(timestamp - self->ts); @v[arg1 & 3, tid] = count(); @s = sum(retval);\n"
         "  @off[arg0] = count(); @d = max(self->depth); @o = sum(arg2 + arg5); self->depth--;\n"
         "}\n"
         "pid$target::work:return /(int)retval < 0/ { @neg[probefunc, probename] = count(); self->ts = 0; }\n");
  std::vector<Hit> pending;
  int i = 0;
  for (const Hit& h : some_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
    pending.push_back(h);
    if (++i % 4 == 0) continue;  // recursion: an entry inside the previous call
    while (!pending.empty()) {
      Hit r = pending.back();
      pending.pop_back();
      r.ts += 700 + static_cast<uint64_t>(i) * 31;
      r.rax = static_cast<uint64_t>(i * 13) - 100;
      r.ret_offset = i % 2 ? 0x1c : 0x2f;
      ASSERT_TRUE(b.fire(kWorkReturn, r, &why)) << why;
    }
  }
  b.end();
  EXPECT_FALSE(b.tracer_out.out_text().empty());
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
  for (size_t c = 0; c < 3; ++c) EXPECT_EQ(b.agent->clause_place(c), "") << c;
  EXPECT_TRUE(b.agent->agent_reads_return_offset(b.agent->register_probe(kWorkReturn).id));
  EXPECT_FALSE(b.agent->agent_reads_return_offset(b.agent->register_probe(kWork).id));
  EXPECT_TRUE(b.agent->agent_guard(b.agent->register_probe(kWorkReturn).id).empty());
}

TEST(AgentCodegen, AReturnClauseThatOnlyCountsRunsInTheAgent) {
  // An entry that only counts is the jump site's counter; a return has none.
  Both b("pid$target::work:return { @r[probefunc] = count(); }\n"
         "pid$target::rest:entry { @e = count(); }\n"
         "pid$target::work:entry, pid$target::work:return { @both = sum(arg1); }\n");
  EXPECT_EQ(b.agent->clause_place(0), "");
  EXPECT_EQ(b.agent->clause_place(1), "it only counts: the jump site's counter does it");
  EXPECT_EQ(b.agent->clause_place(2), "");
  EXPECT_FALSE(b.agent->agent_reads_return_offset(b.agent->register_probe(kWorkReturn).id));
  for (const Hit& h : some_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
    Hit r = h;
    r.rax = h.args[1] * 3;
    ASSERT_TRUE(b.fire(kWorkReturn, r, &why)) << why;
  }
  b.end();
  EXPECT_NE(b.tracer_out.out_text().find("work"), std::string::npos) << b.tracer_out.out_text();
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
}

}  // namespace
}  // namespace probekit::d

namespace probekit::d {
namespace {

// override() and raise() (-w): the agent's code takes the actions the
// tracer's clauses ask its host for, at the same hits, with the same values
// (an override at a return too; raise() of a constant signal only).
TEST(AgentCodegen, OverrideAndRaiseActAsTheTracersHostDoes) {
  Both b("pid$target::work:entry /arg0 % 3 == 0/ { override(arg1 - 7); @o = count(); }\n"
         "pid$target::work:entry /arg0 % 5 == 1/ { raise(10); }\n"
         "pid$target::work:return /arg1 & 1/ { override(-1); }\n",
         true);
  for (uint32_t c = 0; c < 3; ++c) EXPECT_EQ(b.agent->clause_place(c), "") << c;
  EXPECT_TRUE(b.agent->agent_overrides(b.agent->register_probe(kWork).id));
  EXPECT_TRUE(b.agent->agent_overrides(b.agent->register_probe(kWorkReturn).id));
  EXPECT_FALSE(b.agent->agent_overrides(b.agent->register_probe(kRest).id));
  for (const Hit& h : some_hits()) {
    std::string why;
    ASSERT_TRUE(b.fire(kWork, h, &why)) << why;
    Hit r = h;
    r.rax = h.args[1] + 3;
    ASSERT_TRUE(b.fire(kWorkReturn, r, &why)) << why;
  }
  b.end();
  EXPECT_GT(b.host.log.size(), 20u);
  EXPECT_EQ(b.shared->log, b.host.log);
  EXPECT_EQ(b.agent_out.out_text(), b.tracer_out.out_text());
}

TEST(AgentCodegen, RaiseOfASignalKnownOnlyAtTheHitStaysInTheTracer) {
  Both b("pid$target::work:entry { raise(arg0); }\n", true);
  EXPECT_EQ(b.agent->clause_place(0), "raise() of a signal not known when the program is compiled");
}

}  // namespace
}  // namespace probekit::d
