// The compiled program through the binding: probe registration and glob
// matching, firing, variables, faults, speculations, output modes.
#include "d/program.h"

#include <gtest/gtest.h>

#include <cstring>

#include "fake_hit.h"

namespace probekit::d {
namespace {

struct Harness {
  std::unique_ptr<Program> prog;
  StringSink sink;
  testing::FakeHost host;
  testing::FakeHit hit;

  explicit Harness(const std::string& src, CompileOptions o = {}) {
    o.target_pid = 1234;
    auto r = compile(src, "t.d", o);
    EXPECT_TRUE(r.ok()) << r.diagnostics.render();
    prog = std::move(r.program);
    if (prog) {
      prog->set_output(&sink);
      prog->set_host(&host);
    }
  }
  bool fire(const ProbeKey& k, uint64_t arg0 = 0, int tid = 1234) {
    auto reg = prog->register_probe(k);
    FireContext ctx;
    ctx.hit = &hit;
    hit.tid_ = tid;
    ctx.args[0] = arg0;
    return prog->fire(reg.id, ctx);
  }
};

const ProbeKey work_entry{"pid1234", "a.out", "work", "entry"};
const ProbeKey work_return{"pid1234", "a.out", "work", "return"};

TEST(Vm, RegisterProbeMatchesGlobsAndReservesDtraceIds) {
  Harness h("pid$target:a.out:w*:entry { } pid$target::work:return, BEGIN { } syscall::read:entry { }");
  auto a = h.prog->register_probe(work_entry);
  EXPECT_EQ(a.id, 4u);
  EXPECT_EQ(a.clauses, (std::vector<uint32_t>{0}));
  auto b = h.prog->register_probe(work_return);
  EXPECT_EQ(b.clauses, (std::vector<uint32_t>{1}));
  EXPECT_EQ(h.prog->register_probe(ProbeKey{"dtrace", "", "", "BEGIN"}).id, 1u);
  EXPECT_EQ(h.prog->register_probe(ProbeKey{"pid1234", "a.out", "other", "entry"}).id, 0u);
  EXPECT_EQ(h.prog->register_probe(work_entry).id, 4u);  // stable
  ASSERT_EQ(h.prog->clauses().size(), 3u);
  EXPECT_EQ(h.prog->clauses()[1].descriptions[1].name, "BEGIN");
  EXPECT_EQ(h.prog->clauses()[0].descriptions[0].range.column, 1);
}

TEST(Vm, TypicalClauseCountsPerFunctionAndFreesSelf) {
  Harness h("pid$target:a.out:work:entry { self->ts = timestamp; }\n"
            "pid$target:a.out:work:return /self->ts/ { @[probefunc] = count(); self->ts = 0; }",
            [] { CompileOptions o; o.quiet = true; return o; }());
  h.hit.ts_ = 100;
  for (int i = 0; i < 3; ++i) {
    h.fire(work_entry);
    h.fire(work_return);
    h.fire(work_return);  // self->ts is 0 again: predicate false
  }
  h.prog->end();
  EXPECT_EQ(h.sink.out_text(), "\n  work                                                              3\n");
  EXPECT_EQ(h.prog->fires(), 9u);  // 1 entry clause + 2 return clauses, 3 times
}

TEST(Vm, SelfVariablesArePerThread) {
  Harness h("pid$target:a.out:work:entry { self->n++; printf(\"%d:%d \", tid, self->n); }",
            [] { CompileOptions o; o.quiet = true; return o; }());
  h.fire(work_entry, 0, 1);
  h.fire(work_entry, 0, 2);
  h.fire(work_entry, 0, 1);
  EXPECT_EQ(h.sink.out_text(), "1:1 2:1 1:2 ");
}

TEST(Vm, ExitIsReportedByFire) {
  Harness h("pid$target:a.out:work:entry /arg0 == 2/ { exit(7); }");
  EXPECT_FALSE(h.fire(work_entry, 1));
  EXPECT_TRUE(h.fire(work_entry, 2));
  EXPECT_EQ(h.prog->exit_status(), 7);
}

TEST(Vm, FaultWithoutErrorClausePrintsDtraceMessageAndGoesOn) {
  Harness h("pid$target:a.out:work:entry { trace(copyinstr(arg0)); }\n"
            "pid$target:a.out:work:entry { printf(\"after\\n\"); }",
            [] { CompileOptions o; o.quiet = true; return o; }());
  h.fire(work_entry, 0x10);
  EXPECT_EQ(h.sink.err_text(),
            "probekit: error in dt_clause_0 for probe ID 4 (pid1234:a.out:work:entry): invalid address (0x10) "
            "at BPF pc 2\n");
  EXPECT_EQ(h.sink.out_text(), "after\n");
  EXPECT_EQ(h.prog->errors(), 1u);
}

TEST(Vm, ErrorClauseGetsDtraceArguments) {
  Harness h("pid$target:a.out:work:entry { x = 1; y = 10 / arg0; }\n"
            "ERROR { printf(\"%d %d %d %d\", arg1, arg2, arg4, arg5); }",
            [] { CompileOptions o; o.quiet = true; return o; }());
  h.fire(work_entry, 0);
  // dtrace-utils' ERROR: arg1 the probe ID, arg2 the clause's place in the
  // program, arg4 DTRACEFLT_DIVZERO; its default handler prints the error too.
  EXPECT_EQ(h.sink.out_text(), "4 0 4 0");
  EXPECT_EQ(h.sink.err_text(),
            "probekit: error in dt_clause_0 for probe ID 4 (pid1234:a.out:work:entry): divide-by-zero at BPF pc 3\n");
}

TEST(Vm, NotQuietPrintsHeaderOnceAndProbeLines) {
  Harness h("pid$target:a.out:work:entry { printf(\"x=%d\", arg0); }");
  h.hit.cpu_ = 2;
  h.fire(work_entry, 5);
  h.fire(work_entry, 6);
  EXPECT_EQ(h.sink.out_text(),
            "CPU     ID                    FUNCTION:NAME\n"
            "  2      4                       work:entry x=5\n"
            "  2      4                       work:entry x=6\n");
}

TEST(Vm, JsonOutput) {
  CompileOptions o;
  o.quiet = true;
  o.format = OutputFormat::json;
  Harness h("pid$target:a.out:work:entry { printf(\"a\\\"b\\n\"); trace(arg0); @[probefunc] = sum(arg0); }", o);
  h.fire(work_entry, 9);
  h.prog->end();
  EXPECT_EQ(h.sink.out_text(),
            "{\"type\":\"printf\",\"data\":\"a\\\"b\\n\"}\n"
            "{\"type\":\"value\",\"data\":9}\n"
            "{\"type\":\"map\",\"data\":{\"@\":{\"work\":9}}}\n");
}

TEST(Vm, SpeculationCommitKeepsOrderDiscardDrops) {
  CompileOptions o;
  o.quiet = true;
  o.options.emplace_back("nspec", "2");
  Harness h("pid$target:a.out:work:entry /arg0 == 1/ { s = speculation(); }\n"
            "pid$target:a.out:work:entry /s/ { speculate(s); printf(\"[%d]\", arg0); }\n"
            "pid$target:a.out:work:return /arg0 == 1/ { commit(s); s = 0; }\n"
            "pid$target:a.out:work:return /arg0 == 0/ { discard(s); s = 0; }\n",
            o);
  h.fire(work_entry, 1);
  h.fire(work_entry, 2);
  EXPECT_EQ(h.sink.out_text(), "");
  h.fire(work_return, 1);
  EXPECT_EQ(h.sink.out_text(), "[1][2]");
  h.fire(work_entry, 1);
  h.fire(work_return, 0);
  EXPECT_EQ(h.sink.out_text(), "[1][2]");
}

TEST(Vm, DestructiveActionsGoThroughHost) {
  CompileOptions o;
  o.destructive = true;
  Harness h("pid$target:a.out:work:entry { raise(10); system(\"kill %d\", pid); }", o);
  h.fire(work_entry);
  EXPECT_EQ(h.host.log, (std::vector<std::string>{"raise 10", "system kill 1234"}));
}

TEST(Vm, EndPrintsAggregationsNotPrintedYet) {
  CompileOptions o;
  o.quiet = true;
  Harness h("BEGIN { @a = count(); @b = sum(3); printa(\"a=%@d\\n\", @a); }", o);
  h.prog->begin();
  h.prog->end();
  EXPECT_EQ(h.sink.out_text(), "a=1\n\n                3\n");
}

TEST(Vm, CompileOrErrorCarriesRenderedDiagnostics) {
  auto r = compile_or_error("BEGIN { x = ; }", "p.d", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::parse);
  EXPECT_EQ(r.error().message(),
            "p.d:1:13: error: syntax error near ';': expected an expression [D_SYNTAX]\n"
            "  BEGIN { x = ; }\n"
            "              ^");
}

}  // namespace
}  // namespace probekit::d

namespace probekit::d {
namespace {

// Counting probes: a probe whose clauses only count with probe-constant
// keys takes its hits in bulk (fire_counted) and prints exactly what as
// many single firings print.
TEST(Vm, CountableClausesTakeHitsInBulkWithTheSameOutput) {
  const std::string src =
      "pid$target:a.out:work:entry { @[probefunc] = count(); @n = count(); @k[\"x\", 3] = count(); }";
  CompileOptions q;
  q.quiet = true;
  Harness bulk(src, q), single(src, q);
  auto id = bulk.prog->register_probe(work_entry).id;
  ASSERT_TRUE(bulk.prog->countable(id));
  bulk.prog->fire_counted(id, 5);
  bulk.prog->fire_counted(id, 2);
  for (int i = 0; i < 7; ++i) single.fire(work_entry);
  bulk.prog->end();
  single.prog->end();
  EXPECT_EQ(bulk.sink.out_text(), single.sink.out_text());
  EXPECT_NE(bulk.sink.out_text().find("work"), std::string::npos);
  EXPECT_EQ(bulk.prog->fires(), single.prog->fires());
}

TEST(Vm, ClausesThatNeedEachHitAreNotCountable) {
  for (const char* src : {
           "pid$target:a.out:work:entry /arg0 == 1/ { @ = count(); }",   // predicate
           "pid$target:a.out:work:entry { @[tid] = count(); }",          // per-hit key
           "pid$target:a.out:work:entry { @ = sum(arg0); }",             // not a count
           "pid$target:a.out:work:entry { @ = count(); trace(1); }",     // another action
           "pid$target:a.out:work:entry { }",                            // default action
           "pid$target:a.out:work:entry { @ = count(); } pid$target:a.out:w*:entry { self->x = 1; }",
       }) {
    Harness h(src);
    EXPECT_FALSE(h.prog->countable(h.prog->register_probe(work_entry).id)) << src;
  }
}

// args->FIELD of kernel tracepoints: typed from the fields the binding
// reports for a description, read from the record at each probe's own
// offsets (a glob over two tracepoints finds the field in both).
CompileOptions tracepoint_options() {
  CompileOptions o;
  o.quiet = true;
  o.probe_fields = [](const ProbeDescription& d) {
    ProbeFieldsAnswer a;
    if (d.provider != "tracepoint" && d.provider != "proc") return a;
    a.applies = true;
    a.what = "tracepoint sched:sched_process_exec";
    a.fields = {{"filename", "__data_loc char[]", ProbeField::Kind::data_loc, 8, 4, false},
                {"pid", "pid_t", ProbeField::Kind::integer, 12, 4, true},
                {"comm", "char[16]", ProbeField::Kind::char_array, 16, 16, false},
                {"prio", "short", ProbeField::Kind::integer, 32, 2, true},
                {"flags", "unsigned char", ProbeField::Kind::integer, 34, 1, false}};
    return a;
  };
  return o;
}

TEST(Vm, TracepointFieldsAreTypedAndReadFromTheRecord) {
  Harness h(R"(tracepoint:sched:sched_process_exec /args->pid > 0/ {
                 printf("%s %d %s %d %d %d\n", args->filename, args->pid, args->comm, args->prio, args->flags,
                        args->prio < 0);
               })",
            tracepoint_options());
  ASSERT_TRUE(h.prog);
  std::vector<ProbeField> fields = {{"filename", "", ProbeField::Kind::data_loc, 8, 4, false},
                                    {"pid", "", ProbeField::Kind::integer, 12, 4, true},
                                    {"comm", "", ProbeField::Kind::char_array, 16, 16, false},
                                    {"prio", "", ProbeField::Kind::integer, 32, 2, true},
                                    {"flags", "", ProbeField::Kind::integer, 34, 1, false}};
  auto reg = h.prog->register_probe({"tracepoint", "sched", "sched_process_exec", ""}, {}, fields);
  ASSERT_NE(reg.id, 0u);
  uint8_t rec[48] = {};
  uint32_t loc = (10u << 16) | 36;
  std::memcpy(rec + 8, &loc, 4);
  int32_t pid = 4321;
  std::memcpy(rec + 12, &pid, 4);
  std::memcpy(rec + 16, "true", 5);
  int16_t prio = -20;
  std::memcpy(rec + 32, &prio, 2);
  rec[34] = 0xf0;
  std::memcpy(rec + 36, "/bin/true", 10);
  FireContext ctx;
  ctx.hit = &h.hit;
  ctx.record = rec;
  ctx.record_size = sizeof rec;
  h.prog->fire(reg.id, ctx);
  pid = -1;  // the predicate reads a signed 32-bit pid: -1 does not pass
  std::memcpy(rec + 12, &pid, 4);
  h.prog->fire(reg.id, ctx);
  EXPECT_EQ(h.sink.out_text(), "/bin/true 4321 true -20 240 1\n");
}

TEST(Vm, TracepointFieldErrorsNameTheFields) {
  auto r = compile("tracepoint:sched:sched_process_exec { trace(args->nope); }", "t.d", tracepoint_options());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.diagnostics.render().find("no field 'nope' in tracepoint sched:sched_process_exec; its fields: "
                                        "filename, pid, comm, prio, flags"),
            std::string::npos)
      << r.diagnostics.render();
  auto p = compile("pid123::f:entry { trace(args->pid); }", "t.d", tracepoint_options());
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.diagnostics.render().find("[D_ARGS_MEMBER]"), std::string::npos) << p.diagnostics.render();
  EXPECT_NE(p.diagnostics.render().find("'args->pid' needs a kernel tracepoint probe"), std::string::npos);
}

TEST(Vm, TracepointFieldMissingFromAProbeIsAnError) {
  Harness h("tracepoint:sched:* { trace(args->pid); }", tracepoint_options());
  ASSERT_TRUE(h.prog);
  auto reg = h.prog->register_probe({"tracepoint", "sched", "sched_switch", ""}, {}, {});
  uint8_t rec[16] = {};
  FireContext ctx;
  ctx.hit = &h.hit;
  ctx.record = rec;
  ctx.record_size = sizeof rec;
  h.prog->fire(reg.id, ctx);
  EXPECT_EQ(h.sink.out_text(), "");
  EXPECT_NE(h.sink.err_text().find("has no field 'pid'"), std::string::npos) << h.sink.err_text();
}

}  // namespace
}  // namespace probekit::d

namespace probekit::d {
namespace {

// struct node of tests/targets/pk_types.c as the CLI hands it over from
// DWARF (dwarf_test checks the DWARF side against the same struct).
std::optional<TargetAggregate> node_types(const std::string& key) {
  using K = TargetMember::Kind;
  auto m = [](std::string name, K kind, uint64_t off, uint32_t size, bool is_signed) {
    TargetMember t;
    t.name = std::move(name);
    t.kind = kind;
    t.offset = off;
    t.size = size;
    t.is_signed = is_signed;
    return t;
  };
  if (key != "struct node") return std::nullopt;
  TargetAggregate a;
  a.size = 72;
  a.members = {m("id", K::integer, 0, 8, true),         m("at", K::aggregate, 8, 8, false),
               m("at.x", K::integer, 8, 4, true),       m("at.y", K::integer, 12, 4, true),
               m("u.as_int", K::integer, 16, 4, true),  m("f.ready", K::integer, 24, 4, false),
               m("f.delta", K::integer, 24, 4, true),   m("f.big", K::integer, 25, 8, false),
               m("name", K::integer, 32, 1, true),      m("samples", K::integer, 48, 2, true),
               m("next", K::pointer, 64, 8, false),     m("weight", K::floating, 56, 8, false)};
  a.members[5].bit_size = 1;
  a.members[6].bit_offset = 4;
  a.members[6].bit_size = 5;
  a.members[7].bit_offset = 1;
  a.members[7].bit_size = 40;
  a.members[8].count = 16;
  a.members[9].count = 4;
  a.members[10].pointee_aggregate = "struct node";
  return a;
}

TEST(Vm, TargetStructsFromTheProgramsOwnTypes) {
  CompileOptions o;
  o.target_type = node_types;
  o.quiet = true;
  Harness h("pid$target:a.out:work:entry {\n"
            "  this->n = (struct node *)arg0;\n"
            "  printf(\"%d %d %d %d %d\\n\", this->n->id, this->n->at.x, this->n->at.y, this->n->u.as_int,\n"
            "         sizeof (struct node));\n"
            "  printf(\"%d %d %x\\n\", this->n->f.ready, this->n->f.delta, this->n->f.big);\n"
            "  printf(\"%s %d %d %d\\n\", stringof(this->n->name), this->n->samples[0], this->n->samples[3],\n"
            "         this->n->next->id);\n"
            "  printf(\"%.2f %e %d\\n\", this->n->weight, this->n->weight, this->n->weight > this->n->next->weight);\n"
            "}",
            o);
  ASSERT_TRUE(h.prog);
  std::string node(72, '\0'), next(72, '\0');
  auto put = [](std::string& s, size_t off, const auto& v) { std::memcpy(s.data() + off, &v, sizeof v); };
  put(node, 0, int64_t{7});
  put(node, 8, int32_t{70});
  put(node, 12, int32_t{-7});
  put(node, 16, int32_t{0x01020304});
  // ready=1, mode=5, delta=-7 (5 bits: 0b11001), big=0x123456789a from bit 9.
  uint64_t bits = 1 | (5u << 1) | (0x19u << 4) | (0x123456789aULL << 9);
  put(node, 24, bits);
  std::memcpy(node.data() + 32, "node-7", 7);
  for (int k = 0; k < 4; ++k) put(node, 48 + 2 * k, static_cast<int16_t>(700 + k));
  put(node, 64, uint64_t{0x9000});
  put(node, 56, 10.5);
  put(next, 0, int64_t{8});
  put(next, 56, -2.25);
  h.hit.memory[0x8000] = node;
  h.hit.memory[0x9000] = next;
  h.fire(work_entry, 0x8000);
  EXPECT_EQ(h.sink.out_text(), "7 70 -7 16909060 72\n1 -7 123456789a\nnode-7 700 703 8\n10.50 1.050000e+01 1\n");
  EXPECT_EQ(h.sink.err_text(), "");
}

TEST(Vm, ProgramsOwnStructWinsOverTheTargets) {
  CompileOptions o;
  o.target_type = node_types;
  o.quiet = true;
  Harness h("struct node;\nstruct node { int a; int b; };\n"
            "pid$target:a.out:work:entry { printf(\"%d %d\\n\", ((struct node *)arg0)->b, sizeof (struct node)); }",
            o);
  ASSERT_TRUE(h.prog);
  h.hit.memory[0x8000] = std::string("\x01\0\0\0\x02\0\0\0", 8);
  h.fire(work_entry, 0x8000);
  EXPECT_EQ(h.sink.out_text(), "2 8\n");
}

TEST(Vm, UnknownTargetStructIsIncomplete) {
  CompileOptions o;
  o.target_type = node_types;
  o.target_pid = 1234;
  auto r = compile("pid$target:a.out:work:entry { trace(((struct nosuch *)arg0)->x); }", "t.d", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics.all()[0].id, "D_OP_INCOMPLETE") << r.diagnostics.render();
  auto member = compile("pid$target:a.out:work:entry { trace(((struct node *)arg0)->nosuch); }", "t.d", o);
  ASSERT_FALSE(member.ok());
  EXPECT_EQ(member.diagnostics.all()[0].id, "D_TYPE_MEMBER");
}

}  // namespace
}  // namespace probekit::d
