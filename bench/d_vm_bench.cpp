// bench/d_vm_bench.cpp — the D VM alone: clause executions per second.
//
// The typical clause pair of a latency script, fired at one probe without a
// live process (a fake HitContext), so the figure is the language's own
// cost: the engine's per-hit cost (microseconds) should dominate, never the
// VM's (nanoseconds). Items per second = clause executions per second.
#include <benchmark/benchmark.h>

#include "../tests/unit/d/fake_hit.h"
#include "d/aggregation.h"
#include "d/program.h"

using namespace probekit;

namespace {

struct Fixture {
  d::testing::FakeHit hit;
  d::testing::FakeHost host;
  d::StringSink sink;
  std::unique_ptr<d::Program> program;
  uint32_t id = 0;

  explicit Fixture(const std::string& source) {
    d::CompileOptions co;
    co.target_pid = 1234;
    co.quiet = true;
    auto compiled = d::compile(source, "bench.d", co);
    if (!compiled.ok()) throw std::runtime_error(compiled.diagnostics.render());
    program = std::move(compiled.program);
    program->set_host(&host);
    program->set_output(&sink);
    id = program->register_probe({"pid1234", "a.out", "work", "entry"}).id;
    hit.site_.symbol = "work";
  }
};

// Predicate + self-> update + @[key] = count(): two clauses per firing.
void BM_TypicalClausePair(benchmark::State& state) {
  Fixture f(
      "pid$target:a.out:work:entry /self->ts/ { @[probefunc] = count(); self->ts = 0; }\n"
      "pid$target:a.out:work:entry { self->ts = timestamp; }\n");
  d::FireContext fc;
  fc.hit = &f.hit;
  for (auto _ : state) {
    f.hit.ts_ += 100;
    benchmark::DoNotOptimize(f.program->fire(f.id, fc));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 2);
}
BENCHMARK(BM_TypicalClausePair);

// The latency idiom in one clause: avg over a thread-local start time.
void BM_AvgOfTimestampDelta(benchmark::State& state) {
  Fixture f("pid$target:a.out:work:entry { @t[execname] = avg(timestamp - self->ts); self->ts = timestamp; }\n");
  d::FireContext fc;
  fc.hit = &f.hit;
  for (auto _ : state) {
    f.hit.ts_ += 100;
    benchmark::DoNotOptimize(f.program->fire(f.id, fc));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_AvgOfTimestampDelta);

// quantize() on a changing value, keyed by an argument.
void BM_QuantizeByArg(benchmark::State& state) {
  Fixture f("pid$target:a.out:work:entry { @q[arg1 & 7] = quantize(arg0); }\n");
  d::FireContext fc;
  fc.hit = &f.hit;
  uint64_t i = 0;
  for (auto _ : state) {
    fc.args[0] = (i * 2654435761u) & 0xfffff;
    fc.args[1] = i++;
    benchmark::DoNotOptimize(f.program->fire(f.id, fc));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_QuantizeByArg);

}  // namespace

BENCHMARK_MAIN();
