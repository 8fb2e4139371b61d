#include "d/lexer.h"

#include <gtest/gtest.h>

namespace probekit::d {
namespace {

std::vector<Tok> kinds(const std::string& src, Diagnostics& diags) {
  std::vector<Tok> out;
  for (const auto& t : tokenize(src, diags)) out.push_back(t.kind);
  return out;
}

TEST(Lexer, OperatorsLongestMatch) {
  Diagnostics diags("t.d", "");
  auto k = kinds("a <<= b >> c ^^ d -> e ++ -- != == <= >= && || ^= ->", diags);
  std::vector<Tok> want = {Tok::identifier, Tok::shl_assign, Tok::identifier, Tok::shr, Tok::identifier,
                           Tok::caret_caret, Tok::identifier, Tok::arrow, Tok::identifier, Tok::plus_plus,
                           Tok::minus_minus, Tok::bang_eq, Tok::eq_eq, Tok::le, Tok::ge, Tok::amp_amp,
                           Tok::pipe_pipe, Tok::caret_assign, Tok::arrow, Tok::eof};
  EXPECT_EQ(k, want);
  EXPECT_FALSE(diags.has_errors());
}

TEST(Lexer, IntegerLiteralsAndSuffixes) {
  Diagnostics diags("t.d", "");
  auto toks = tokenize("0x1F 017 42ULL 0 'A' '\\n'", diags);
  ASSERT_EQ(toks.size(), 7u);
  EXPECT_EQ(toks[0].ival, 31u);
  EXPECT_EQ(toks[1].ival, 15u);
  EXPECT_EQ(toks[2].ival, 42u);
  EXPECT_TRUE(toks[2].is_unsigned);
  EXPECT_TRUE(toks[2].is_long);
  EXPECT_EQ(toks[3].ival, 0u);
  EXPECT_EQ(toks[4].kind, Tok::character);
  EXPECT_EQ(toks[4].ival, 65u);
  EXPECT_EQ(toks[5].ival, 10u);
}

TEST(Lexer, StringEscapes) {
  Diagnostics diags("t.d", "");
  auto toks = tokenize(R"("a\tb\"c\\d\x41\101")", diags);
  ASSERT_EQ(toks[0].kind, Tok::string);
  EXPECT_EQ(toks[0].text, "a\tb\"c\\dAA");
}

TEST(Lexer, MacrosAggregationsKeywords) {
  Diagnostics diags("t.d", "");
  auto toks = tokenize("$target $$1 @ @lat self this sizeof stringof uint8_t", diags);
  EXPECT_EQ(toks[0].kind, Tok::macro);
  EXPECT_EQ(toks[0].text, "target");
  EXPECT_EQ(toks[1].kind, Tok::macro);
  EXPECT_TRUE(toks[1].is_string);
  EXPECT_EQ(toks[1].text, "1");
  EXPECT_EQ(toks[2].kind, Tok::aggregation);
  EXPECT_EQ(toks[2].text, "");
  EXPECT_EQ(toks[3].text, "lat");
  EXPECT_EQ(toks[4].kind, Tok::kw_self);
  EXPECT_EQ(toks[5].kind, Tok::kw_this);
  EXPECT_EQ(toks[6].kind, Tok::kw_sizeof);
  EXPECT_EQ(toks[7].kind, Tok::kw_stringof);
  EXPECT_EQ(toks[8].kind, Tok::kw_type);
}

TEST(Lexer, LocationsAreLineAndColumn) {
  Diagnostics diags("t.d", "");
  auto toks = tokenize("a\n  /* c */ bb", diags);
  EXPECT_EQ(toks[0].loc.line, 1);
  EXPECT_EQ(toks[0].loc.column, 1);
  EXPECT_EQ(toks[1].loc.line, 2);
  EXPECT_EQ(toks[1].loc.column, 11);
  EXPECT_EQ(toks[1].loc.length, 2);
}

TEST(Lexer, ErrorsAreCollectedNotFatal) {
  Diagnostics diags("t.d", "");
  auto toks = tokenize("a # b 09 \"open", diags);
  ASSERT_EQ(diags.all().size(), 3u);
  EXPECT_EQ(diags.all()[0].id, "D_SYNTAX");
  EXPECT_EQ(diags.all()[1].id, "D_INT_DIGIT");
  EXPECT_EQ(diags.all()[2].id, "D_STR_NL");
  EXPECT_EQ(toks.back().kind, Tok::eof);
}

TEST(Lexer, ProbeDescriptionState) {
  Diagnostics diags("t.d", "");
  Lexer lx("pid$target:libc.so.6:mall*:entry, BEGIN /x/", diags);
  auto t = lx.next_probe_desc();
  EXPECT_EQ(t.kind, Tok::probe_desc);
  EXPECT_EQ(t.text, "pid$target:libc.so.6:mall*:entry");
  EXPECT_EQ(lx.next_probe_desc().kind, Tok::comma);
  EXPECT_EQ(lx.next_probe_desc().text, "BEGIN");
  EXPECT_EQ(lx.next_probe_desc().kind, Tok::slash);
}

TEST(Lexer, PragmasAreCollected) {
  Diagnostics diags("t.d", "");
  Lexer lx("#pragma D option quiet\nBEGIN", diags);
  auto t = lx.next_probe_desc();
  EXPECT_EQ(t.text, "BEGIN");
  ASSERT_EQ(lx.pragmas().size(), 1u);
  EXPECT_EQ(lx.pragmas()[0].text, "D option quiet");
}

TEST(Diagnostics, RenderHasCaretUnderSpan) {
  Diagnostics diags("prog.d", "BEGIN {\n  x = foo;\n}");
  diags.error("D_IDENT_UNDEF", Loc{2, 7, 3}, "unknown identifier 'foo'");
  EXPECT_EQ(diags.render(),
            "prog.d:2:7: error: unknown identifier 'foo' [D_IDENT_UNDEF]\n"
            "    x = foo;\n"
            "        ^~~\n");
}

}  // namespace
}  // namespace probekit::d

namespace probekit::d {

// Garbage input costs a screenful: at most Diagnostics::kMaxErrors errors
// are kept, and a long line is shown as a window around the caret with its
// control bytes escaped.
TEST(Diagnostics, ErrorCountAndLineWidthAreCapped) {
  std::string source(30000, '\0');
  Diagnostics diags("nul.d", source);
  tokenize(source, diags);
  EXPECT_EQ(diags.error_count(), 30000);
  EXPECT_EQ(diags.all().size(), static_cast<size_t>(Diagnostics::kMaxErrors));
  EXPECT_EQ(diags.dropped(), 30000 - Diagnostics::kMaxErrors);
  std::string text = diags.render();
  EXPECT_LT(text.size(), 10000u);
  EXPECT_EQ(text.find('\0'), std::string::npos);
  EXPECT_NE(text.find("nul.d: error: too many errors; 29980 more not shown [D_TOO_MANY]\n"), std::string::npos);

  // A long line: the caret stays under the error, "..." marks the cuts.
  std::string line = std::string(300, 'a') + " $ " + std::string(300, 'b');
  Diagnostics one("long.d", line);
  one.error("D_SYNTAX", Loc{1, 302, 1}, "invalid character '$'");
  std::string r = one.render(one.all().front());
  auto nl = r.find('\n');
  auto nl2 = r.find('\n', nl + 1);
  std::string shown = r.substr(nl + 1, nl2 - nl - 1);
  std::string caret = r.substr(nl2 + 1, r.size() - nl2 - 2);
  EXPECT_LE(shown.size(), 2 + 3 + Diagnostics::kMaxLineWidth + 3);
  EXPECT_EQ(shown.substr(0, 5), "  ...");
  EXPECT_EQ(shown.substr(shown.size() - 3), "...");
  ASSERT_EQ(caret.back(), '^');
  EXPECT_EQ(shown[caret.size() - 1], '$');
}

}  // namespace probekit::d
