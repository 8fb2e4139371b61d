#include "d/parser.h"

#include <gtest/gtest.h>

namespace probekit::d {
namespace {

std::string expr(const std::string& src, Diagnostics* out = nullptr) {
  Diagnostics diags("t.d", src);
  Parser p(src, diags);
  auto e = p.parse_expression_only();
  if (out) *out = diags;
  return e ? dump(*e) : "<error>";
}

TEST(Parser, Precedence) {
  EXPECT_EQ(expr("1 + 2 * 3"), "(binary + (integer 1) (binary * (integer 2) (integer 3)))");
  EXPECT_EQ(expr("a || b && c"), "(binary || (ident a) (binary && (ident b) (ident c)))");
  EXPECT_EQ(expr("a ^^ b || c"), "(binary || (binary ^^ (ident a) (ident b)) (ident c))");
  EXPECT_EQ(expr("a | b ^ c & d"), "(binary | (ident a) (binary ^ (ident b) (binary & (ident c) (ident d))))");
  EXPECT_EQ(expr("1 << 2 + 3"), "(binary << (integer 1) (binary + (integer 2) (integer 3)))");
  EXPECT_EQ(expr("a - b - c"), "(binary - (binary - (ident a) (ident b)) (ident c))");
}

TEST(Parser, AssignmentIsRightAssociative) {
  EXPECT_EQ(expr("a = b += 1"), "(assign = (ident a) (assign += (ident b) (integer 1)))");
}

TEST(Parser, TernaryAndUnary) {
  EXPECT_EQ(expr("a ? b : c ? d : e"),
            "(ternary (ident a) (ident b) (ternary (ident c) (ident d) (ident e)))");
  EXPECT_EQ(expr("-!~x"), "(unary - (unary ! (unary ~ (ident x))))");
  EXPECT_EQ(expr("x++ + ++y"), "(binary + (incdec post++ (ident x)) (incdec pre++ (ident y)))");
}

TEST(Parser, CastsSizeofStringof) {
  EXPECT_EQ(expr("(uint8_t)x"), "(cast uint8_t (ident x))");
  EXPECT_EQ(expr("(unsigned long long)x"), "(cast uint64_t (ident x))");
  EXPECT_EQ(expr("(char *)p"), "(cast char * (ident p))");
  EXPECT_EQ(expr("sizeof(int)"), "(sizeof int)");
  EXPECT_EQ(expr("sizeof x"), "(sizeof (ident x))");
  EXPECT_EQ(expr("stringof(p)"), "(stringof (ident p))");
  EXPECT_EQ(expr("(a)"), "(ident a)");
}

TEST(Parser, VariablesCallsIndexes) {
  EXPECT_EQ(expr("self->ts"), "(self ts)");
  EXPECT_EQ(expr("this->x"), "(this x)");
  EXPECT_EQ(expr("a[1, \"k\"]"), "(index a (integer 1) (string \"k\"))");
  EXPECT_EQ(expr("strjoin(a, b)"), "(call strjoin (ident a) (ident b))");
  EXPECT_EQ(expr("printa(\"%@d\", @c)"), "(call printa (string \"%@d\") (aggref @c))");
  EXPECT_EQ(expr("$1 + $target"), "(binary + (macro 1) (macro target))");
}

// E[i] is *(E + i) after any expression but a name (dtrace-utils'
// tst.ctf-bounds.oob-cast.d: ((char *)p)[32]); `.` and `->` follow any
// expression too ((*p).x); only a name can be called.
TEST(Parser, PostfixOperatorsFollowAnyPrimaryExpression) {
  EXPECT_EQ(expr("((char *)p)[32]"), "(unary * (binary + (cast char * (ident p)) (integer 32)))");
  EXPECT_EQ(expr("(s = copyinstr(p))[4]"),
            "(unary * (binary + (assign = (ident s) (call copyinstr (ident p))) (integer 4)))");
  EXPECT_EQ(expr("f(x)[1][2]"),
            "(unary * (binary + (unary * (binary + (call f (ident x)) (integer 1))) (integer 2)))");
  EXPECT_EQ(expr("(*p).x"), "(member x (unary * (ident p)))");
  EXPECT_EQ(expr("(a)[1]"), "(index a (integer 1))");
  Diagnostics d("t.d", "");
  EXPECT_EQ(expr("(a + 1)(2)", &d), "<error>");
  EXPECT_NE(d.render().find("only names can be called"), std::string::npos) << d.render();
  // Several keys are an associative array, which this-> is not; self->x[...]
  // is a thread-local one, the global "self->x" keyed first by tid.
  EXPECT_EQ(expr("this->x[1, 2]", &d), "<error>");
  EXPECT_NE(d.render().find("[D_ARR_LOCAL]"), std::string::npos) << d.render();
  EXPECT_EQ(expr("self->x[1, 2]"), "(index self->x (ident tid) (integer 1) (integer 2))");
  EXPECT_EQ(expr("self->p[3]"), "(index self->p (ident tid) (integer 3))");
}

TEST(Parser, ClausesDescriptionsPredicatesPragmas) {
  std::string src =
      "#pragma D option quiet\n"
      "pid$target::malloc:entry, BEGIN /self->ts && arg0 / 2 > 1/ { @[probefunc] = count(); x = 1; ; }\n"
      "END\n";
  Diagnostics diags("t.d", src);
  Parser p(src, diags);
  auto ast = p.parse_program();
  ASSERT_FALSE(diags.has_errors()) << diags.render();
  EXPECT_EQ(dump(ast),
            "(option quiet )\n"
            "(clause pid$target::malloc:entry BEGIN /(binary && (self ts) (binary > (binary / (ident arg0) (integer 2)) (integer 1)))/\n"
            "  (aggset @ (call count) (ident probefunc))\n"
            "  (assign = (ident x) (integer 1)))\n"
            "(clause END)\n");
}

TEST(Parser, RecoversAndReportsEveryStatementError) {
  std::string src = "BEGIN { x = ; y = 1; z = ) ; }\nEND { w = 2 }\n";
  Diagnostics diags("t.d", src);
  Parser p(src, diags);
  auto ast = p.parse_program();
  ASSERT_EQ(diags.error_count(), 2);
  EXPECT_EQ(diags.all()[0].loc.column, 13);
  EXPECT_EQ(diags.all()[1].loc.column, 26);
  ASSERT_EQ(ast.clauses.size(), 2u);
  EXPECT_EQ(ast.clauses[0].body.size(), 1u);  // y = 1 survived
  EXPECT_EQ(ast.clauses[1].body.size(), 1u);
}

TEST(Parser, DeepNestingIsRefusedNotCrashing) {
  std::string deep(5000, '(');
  Diagnostics diags;
  expr(deep + "1", &diags);
  ASSERT_TRUE(diags.has_errors());
  EXPECT_NE(diags.all()[0].message.find("nested too deeply"), std::string::npos);
  std::string chain = "1";
  for (int i = 0; i < 5000; ++i) chain += "+1";
  Diagnostics d2;
  expr(chain, &d2);
  EXPECT_TRUE(d2.has_errors());
}

TEST(Parser, TypeWords) {
  EXPECT_EQ(type_from_words({"unsigned", "char"}, 0)->name(), "uint8_t");
  EXPECT_EQ(type_from_words({"long", "long"}, 0)->name(), "int64_t");
  EXPECT_EQ(type_from_words({"unsigned"}, 0)->name(), "uint32_t");
  EXPECT_EQ(type_from_words({"short"}, 0)->name(), "short");
  EXPECT_EQ(type_from_words({"void"}, 1)->name(), "void *");
  EXPECT_FALSE(type_from_words({"long", "short"}, 0));
  EXPECT_FALSE(type_from_words({"signed", "unsigned", "int"}, 0));
  // string * is a pointer to a string in memory (dtrace-utils'
  // funcs/alloca/tst.string-alloca).
  EXPECT_EQ(type_from_words({"string"}, 1)->name(), "string *");
  EXPECT_FALSE(type_from_words({"string", "int"}, 1));
}

std::string program(const std::string& src) {
  Diagnostics diags("t.d", src);
  Parser p(src, diags);
  auto ast = p.parse_program();
  return diags.has_errors() ? diags.render() : dump(ast);
}

TEST(Parser, DeclarationsAtProgramScope) {
  EXPECT_EQ(program("int x, *p; self uint64_t ts; this string s;\nBEGIN {}"),
            "(decl global int x)\n(decl global int * p)\n(decl self uint64_t ts)\n(decl this string s)\n"
            "(clause BEGIN)\n");
  EXPECT_EQ(program("int a[5]; int b[string, int]; inline int N = 2 + 3; BEGIN {}"),
            "(decl global int a[(integer 5)])\n(decl global int b[string, int])\n"
            "(decl inline int N (binary + (integer 2) (integer 3)))\n(clause BEGIN)\n");
}

TEST(Parser, TypedefNamesAreTypes) {
  EXPECT_EQ(program("typedef unsigned char byte_t; byte_t b; BEGIN { x = (byte_t *)arg0; }"),
            "(decl global uint8_t b)\n(clause BEGIN\n  (assign = (ident x) (cast uint8_t * (ident arg0))))\n");
}

TEST(Parser, IfElseNests) {
  EXPECT_EQ(program("BEGIN { if (a) { b = 1; } else if (c) d = 2; else { e = 3; } f = 4; }"),
            "(clause BEGIN\n  (if (ident a) (block (assign = (ident b) (integer 1))) (block (if (ident c) "
            "(block (assign = (ident d) (integer 2))) (block (assign = (ident e) (integer 3))))))\n"
            "  (assign = (ident f) (integer 4)))\n");
}

TEST(Parser, StatementsNeedSemicolons) {
  EXPECT_NE(program("BEGIN { trace(epid)); }").find("expected ';' after the statement [D_SYNTAX]"), std::string::npos);
}

}  // namespace
}  // namespace probekit::d
