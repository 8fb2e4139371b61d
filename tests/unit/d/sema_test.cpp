// The passes, through compile(): which pass stops the pipeline, ids, and
// what the semantic pass infers.
#include "d/passes.h"

#include <gtest/gtest.h>

#include "d/parser.h"

namespace probekit::d {
namespace {

struct Run {
  Diagnostics diags;
  Symbols symbols;
  ProgramAst ast;
  std::string failed;
};

Run analyse(const std::string& src, CompileOptions opts = {}) {
  Run r;
  r.diags = Diagnostics("t.d", src);
  Parser p(src, r.diags);
  r.ast = p.parse_program();
  PassManager pm;
  add_default_passes(pm);
  PassContext ctx{r.ast, r.diags, opts, r.symbols};
  if (!pm.run(ctx)) r.failed = pm.failed_pass();
  return r;
}

std::vector<std::string> ids(const Run& r) {
  std::vector<std::string> out;
  for (const auto& d : r.diags.all()) out.push_back(d.id);
  return out;
}

TEST(Passes, MacroPassExpandsDescriptionsAndSplitsFields) {
  CompileOptions o;
  o.target_pid = 42;
  o.macro_args = {"work"};
  auto r = analyse("pid$target::$1:entry {} entry {} malloc:entry {} libc.so.6:free:return {}", o);
  ASSERT_EQ(r.failed, "") << r.diags.render();
  const auto& d0 = r.ast.clauses[0].descs[0];
  EXPECT_EQ(d0.expanded, "pid42::work:entry");
  EXPECT_EQ(d0.provider, "pid42");
  EXPECT_EQ(d0.module, "");
  EXPECT_EQ(d0.function, "work");
  EXPECT_EQ(r.ast.clauses[1].descs[0].name, "entry");
  EXPECT_EQ(r.ast.clauses[1].descs[0].provider, "");
  EXPECT_EQ(r.ast.clauses[2].descs[0].function, "malloc");
  EXPECT_EQ(r.ast.clauses[3].descs[0].module, "libc.so.6");
}

TEST(Passes, StopAfterFirstFailingPassKeepingAllItsErrors) {
  // Two macro errors: both reported; the semantic error after them is not.
  auto r = analyse("BEGIN { x = $1 + $2; y = nosuch; }");
  EXPECT_EQ(r.failed, "macros");
  EXPECT_EQ(ids(r), (std::vector<std::string>{"D_MACRO_UNDEF", "D_MACRO_UNDEF"}));
}

TEST(Passes, SemanticCollectsEveryError) {
  auto r = analyse("BEGIN { a = nosuch; b = strlen(1); c = \"s\" * 2; }");
  EXPECT_EQ(r.failed, "semantic");
  EXPECT_EQ(ids(r), (std::vector<std::string>{"D_IDENT_UNDEF", "D_PROTO_ARG", "D_OP_ARITH"}));
}

TEST(Passes, VariableTypesFromFirstAssignmentAnywhere) {
  // The predicate reads self->ts before the clause that assigns it; the
  // integer type widens to the widest integer assigned (0 is an int,
  // timestamp a uint64_t), so nothing is truncated.
  auto r = analyse("tick-1s /self->ts/ { self->ts = 0; } BEGIN { self->ts = timestamp; g = \"x\"; c = (char)1; }");
  ASSERT_EQ(r.failed, "") << r.diags.render();
  ASSERT_EQ(r.symbols.thread_vars.size(), 1u);
  EXPECT_EQ(r.symbols.thread_vars[0].type.name(), "uint64_t");
  auto* g = r.symbols.find(r.symbols.globals, "g");
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(g->type.is_string());
  EXPECT_EQ(r.symbols.find(r.symbols.globals, "c")->type.name(), "char");
}

// dtrace's dt_type_promote(): the operand of greater rank gives the type,
// with no promotion to int (uint8_t + uint8_t is a uint8_t).
TEST(Passes, UsualArithmeticConversions) {
  auto r = analyse("BEGIN { a = (uint8_t)1 + (uint8_t)2; b = 1 + 2LL; c = 1U + -1; d = (uint64_t)1 + (int64_t)1; "
                   "e = (uint8_t)1 + (char)1; f = (short)1 + 1; }");
  ASSERT_EQ(r.failed, "") << r.diags.render();
  EXPECT_EQ(r.symbols.find(r.symbols.globals, "a")->type.name(), "uint8_t");
  EXPECT_EQ(r.symbols.find(r.symbols.globals, "e")->type.name(), "uint8_t");
  EXPECT_EQ(r.symbols.find(r.symbols.globals, "f")->type.name(), "int");
  EXPECT_EQ(r.symbols.find(r.symbols.globals, "b")->type.name(), "int64_t");
  EXPECT_EQ(r.symbols.find(r.symbols.globals, "c")->type.name(), "uint32_t");
  EXPECT_EQ(r.symbols.find(r.symbols.globals, "d")->type.name(), "uint64_t");
}

TEST(Passes, AggregationsDeclaredWithKeysAndParams) {
  auto r = analyse("BEGIN { @l[execname, 1] = lquantize(arg0, 0, 100, 10); @ = count(); }");
  ASSERT_EQ(r.failed, "") << r.diags.render();
  ASSERT_EQ(r.symbols.aggs.size(), 2u);
  EXPECT_EQ(r.symbols.aggs[0].func, AggFunc::lquantize);
  EXPECT_EQ(r.symbols.aggs[0].params.hi, 100);
  EXPECT_EQ(r.symbols.aggs[0].params.step, 10);
  ASSERT_EQ(r.symbols.aggs[0].keys.size(), 2u);
  EXPECT_TRUE(r.symbols.aggs[0].keys[0].is_string());
  EXPECT_EQ(r.symbols.aggs[1].name, "");
}

TEST(Passes, DestructiveNeedsW) {
  EXPECT_EQ(ids(analyse("BEGIN { raise(9); }")), std::vector<std::string>{"D_DESTRUCT"});
  CompileOptions w;
  w.destructive = true;
  EXPECT_EQ(analyse("BEGIN { raise(9); }", w).failed, "");
  EXPECT_EQ(analyse("#pragma D option destructive\nBEGIN { raise(9); }").failed, "");
}

TEST(Passes, ActionOrderingRules) {
  auto r = analyse("BEGIN { speculate(1); @a = count(); } END { commit(1); trace(1); }");
  EXPECT_EQ(r.failed, "actions");
  EXPECT_EQ(ids(r), (std::vector<std::string>{"D_AGG_SPEC", "D_DREC_COMM"}));
}

TEST(Passes, OptionsFromPragmaAndCommandLine) {
  CompileOptions o;
  o.options.emplace_back("nspec", "4");
  auto r = analyse("#pragma D option strsize=64\nBEGIN {}", o);
  ASSERT_EQ(r.failed, "");
  EXPECT_EQ(r.symbols.options.at("strsize"), "64");
  EXPECT_EQ(r.symbols.options.at("nspec"), "4");
  // Both: the pragma wins, as dtrace(1) sets -x before compiling and each
  // pragma while compiling.
  o.options.emplace_back("strsize", "32");
  o.quiet = true;
  auto both = analyse("#pragma D option strsize=64\n#pragma D option quiet=no\nBEGIN {}", o);
  ASSERT_EQ(both.failed, "");
  EXPECT_EQ(both.symbols.options.at("strsize"), "64");
  EXPECT_EQ(both.symbols.options.count("quiet"), 0u);
  o.options.pop_back();  // strsize=32
  o.quiet = false;
  // Several on the command line (-b 1m -x bufsize=2m): each is checked, the later wins.
  CompileOptions twice;
  twice.options = {{"bufsize", "1m"}, {"bufsize", "2m"}};
  auto later = analyse("BEGIN {}", twice);
  ASSERT_EQ(later.failed, "");
  EXPECT_EQ(later.symbols.options.at("bufsize"), "2m");
  twice.options = {{"bufsize", "bad"}, {"bufsize", "2m"}};
  EXPECT_EQ(analyse("BEGIN {}", twice).failed, "options");
  o.options.emplace_back("bogus", "");
  auto bad = analyse("BEGIN {}", o);
  EXPECT_EQ(bad.failed, "options");
  EXPECT_EQ(bad.diags.render(), "t.d: error: failed to set option 'bogus': unknown option [D_PRAGMA_OPTSET]\n");
}

// s[i] of a string is a char (the parser's *(s + i), typed as an index);
// a string added to is still an arithmetic error, and s[i] is not
// assignable.
TEST(Passes, IndexingAStringIsAChar) {
  auto r = analyse("BEGIN { s = \"abc\"; x = s[1]; y = execname[0]; this->t = \"d\"; z = this->t[0]; }");
  ASSERT_EQ(r.failed, "") << r.diags.render();
  for (size_t i : {1u, 2u, 4u}) {
    const Expr& v = *r.ast.clauses[0].body[i]->kids[1];
    EXPECT_TRUE(is_string_index(v)) << dump(v);
    EXPECT_EQ(v.type, Type::integer(1, true)) << dump(v);
  }
  // s + 1 is a string (its characters from 1 on), which * cannot
  // dereference (dt_node_is_pointer is false for a string).
  EXPECT_EQ(ids(analyse("BEGIN { s = \"abc\"; x = *(s + 1); }")), std::vector<std::string>{"D_DEREF_NONPTR"});
  EXPECT_EQ(ids(analyse("BEGIN { s = \"abc\"; s[1] = 'x'; }")), std::vector<std::string>{"D_OP_WRITE"});
  // *(s + "k"): two strings do not add (dt_cook_op2's D_OP_INCOMPAT).
  EXPECT_EQ(ids(analyse("BEGIN { s = \"abc\"; x = s[\"k\"]; }")), std::vector<std::string>{"D_OP_INCOMPAT"});
}

// curpsinfo->M becomes a built-in of M's type; members the translator
// does not define, kernel addresses and stackdepth are refused.
TEST(Passes, CurpsinfoMembersAreTypedBuiltins) {
  auto r = analyse("BEGIN { a = curpsinfo->pr_ppid; b = curpsinfo->pr_psargs; c = curlwpsinfo->pr_sname; }");
  ASSERT_EQ(r.failed, "") << r.diags.render();
  const auto& body = r.ast.clauses[0].body;
  EXPECT_EQ(body[0]->kids[1]->kind, ExprKind::ident);
  EXPECT_EQ(body[0]->kids[1]->type, Type::integer(4, true));
  EXPECT_EQ(body[1]->kids[1]->type, Type::string());
  EXPECT_EQ(body[2]->kids[1]->type, Type::integer(1, true));
  EXPECT_EQ(ids(analyse("BEGIN { x = curpsinfo->pr_rssize; }")), std::vector<std::string>{"D_XLATE_NOCONV"});
  EXPECT_EQ(ids(analyse("BEGIN { x = curpsinfo->pr_ttydev; }")), std::vector<std::string>{"D_VAR_UNSUP"});
  EXPECT_EQ(ids(analyse("BEGIN { x = curpsinfo; }")), std::vector<std::string>{"D_VAR_UNSUP"});
  EXPECT_EQ(ids(analyse("BEGIN { curpsinfo->pr_pid = 1; }")), std::vector<std::string>{"D_OP_WRITE"});
}

// stack(), stackdepth and caller are of the kernel's stack: at a probe
// that fires in user space they are an empty stack and 0 (typed as dtrace
// types them); at a kernel probe, whose frames probekit does not read,
// they are refused (D_VAR_UNSUP), whatever else the clause names.
TEST(Passes, KernelStackBuiltinsAreEmptyAtUserProbesAndRefusedAtKernelOnes) {
  auto user = analyse("pid$target::work:entry { a = stackdepth; b = caller; @[stack()] = count(); }");
  ASSERT_EQ(user.failed, "") << user.diags.render();
  const auto& body = user.ast.clauses[0].body;
  EXPECT_EQ(body[0]->kids[1]->type, Type::integer(4, false));
  EXPECT_EQ(body[1]->kids[1]->type, Type::integer(8, false));
  CompileOptions kernel;
  kernel.probe_fields = [](const ProbeDescription& d) {
    ProbeFieldsAnswer a;
    a.kernel = d.provider == "sched" || d.provider == "profile";
    a.applies = d.provider == "sched";
    a.unknown = a.applies;
    return a;
  };
  EXPECT_EQ(analyse("BEGIN { a = stackdepth; b = caller; @[stack()] = count(); }", kernel).failed, "");
  for (const char* use : {"x = stackdepth;", "x = caller;", "stack();", "stack(2);"}) {
    EXPECT_EQ(ids(analyse(std::string("sched:::wakeup { ") + use + " }", kernel)),
              std::vector<std::string>{"D_VAR_UNSUP"})
        << use;
    EXPECT_EQ(ids(analyse(std::string("BEGIN, profile:::profile-99 { ") + use + " }", kernel)),
              std::vector<std::string>{"D_VAR_UNSUP"})
        << use;
  }
}

// scratchsize bounds a constant alloca() at compile time (dtrace-utils'
// err.D_ALLOCA_SIZE.big_alloca.d); maxframes and scratchsize are options.
TEST(Passes, ScratchsizeBoundsAConstantAlloca) {
  EXPECT_EQ(analyse("#pragma D option scratchsize=1024\nBEGIN { p = alloca(1024); }").failed, "");
  EXPECT_EQ(ids(analyse("#pragma D option scratchsize=1024\nBEGIN { p = alloca(1025); }")),
            std::vector<std::string>{"D_ALLOCA_SIZE"});
  EXPECT_EQ(analyse("#pragma D option maxframes=5\nBEGIN { }").failed, "");
}

TEST(Passes, RegisterNamesAreConstants) {
  auto r = analyse("BEGIN { x = uregs[R_SP]; }");
  ASSERT_EQ(r.failed, "");
  const Expr& idx = *r.ast.clauses[0].body[0]->kids[1];
  EXPECT_EQ(idx.ival, 19u);  // rsp in user_regs_struct
}

}  // namespace
}  // namespace probekit::d
