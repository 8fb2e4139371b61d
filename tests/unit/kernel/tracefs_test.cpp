// Tracepoint formats as tracefs prints them (texts copied from this
// project's VM, kernel 6.18), and the decoding of raw records by them.
#include "kernel/tracefs.h"

#include <gtest/gtest.h>

#include <cstring>

namespace probekit::kernel {
namespace {

const char* kExecFormat = R"(name: sched_process_exec
ID: 311
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:__data_loc char[] filename;	offset:8;	size:4;	signed:0;
	field:pid_t pid;	offset:12;	size:4;	signed:1;
	field:pid_t old_pid;	offset:16;	size:4;	signed:1;

print fmt: "filename=%s pid=%d old_pid=%d", __get_str(filename), REC->pid, REC->old_pid
)";

const char* kEnterFormat = R"(name: sys_enter
ID: 22
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:long id;	offset:8;	size:8;	signed:1;
	field:unsigned long args[6];	offset:16;	size:48;	signed:0;
	field:char comm[16];	offset:64;	size:16;	signed:0;
	field:__rel_loc char[] name;	offset:80;	size:4;	signed:0;
	field:short s16;	offset:84;	size:2;	signed:1;
	field:unsigned char u8;	offset:86;	size:1;	signed:0;
	field:signed char s8;	offset:87;	size:1;	signed:1;
	field:struct foo x;	offset:88;	size:12;	signed:0;
)";

TEST(Tracefs, ParsesIdAndEveryField) {
  auto f = parse_format(kExecFormat);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->id, 311u);
  ASSERT_EQ(f->fields.size(), 7u);
  const auto* filename = f->field("filename");
  ASSERT_NE(filename, nullptr);
  EXPECT_EQ(filename->kind, TracepointField::Kind::data_loc);
  EXPECT_EQ(filename->c_type, "__data_loc char[]");
  EXPECT_EQ(filename->offset, 8u);
  const auto* pid = f->field("pid");
  ASSERT_NE(pid, nullptr);
  EXPECT_EQ(pid->kind, TracepointField::Kind::integer);
  EXPECT_EQ(pid->c_type, "pid_t");
  EXPECT_TRUE(pid->is_signed);
  EXPECT_EQ(pid->size, 4u);
  EXPECT_TRUE(f->field("common_pid")->common);
  EXPECT_FALSE(pid->common);
}

TEST(Tracefs, ClassifiesArraysStringsAndOthers) {
  auto f = parse_format(kEnterFormat);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->field("args")->kind, TracepointField::Kind::array);
  EXPECT_EQ(f->field("args")->element_size, 8u);
  EXPECT_EQ(f->field("args")->c_type, "unsigned long[6]");
  EXPECT_EQ(f->field("comm")->kind, TracepointField::Kind::char_array);
  EXPECT_EQ(f->field("name")->kind, TracepointField::Kind::rel_loc);
  EXPECT_EQ(f->field("x")->kind, TracepointField::Kind::other);
  EXPECT_EQ(f->field("x")->c_type, "struct foo");
}

TEST(Tracefs, DecodesIntegersOfEverySizeAndSign) {
  auto f = parse_format(kEnterFormat);
  ASSERT_TRUE(f);
  uint8_t rec[100] = {};
  int64_t id = -5;
  std::memcpy(rec + 8, &id, 8);
  for (uint64_t i = 0; i < 6; ++i) {
    uint64_t v = 1000 + i;
    std::memcpy(rec + 16 + 8 * i, &v, 8);
  }
  int16_t s16 = -300;
  std::memcpy(rec + 84, &s16, 2);
  rec[86] = 0xff;
  rec[87] = 0xfe;
  EXPECT_EQ(read_integer(*f->field("id"), rec, sizeof rec), -5);
  EXPECT_EQ(read_integer(*f->field("args"), rec, sizeof rec, 5), 1005);
  EXPECT_EQ(read_integer(*f->field("args"), rec, sizeof rec, 6), std::nullopt);  // past the array
  EXPECT_EQ(read_integer(*f->field("s16"), rec, sizeof rec), -300);
  EXPECT_EQ(read_integer(*f->field("u8"), rec, sizeof rec), 255);
  EXPECT_EQ(read_integer(*f->field("s8"), rec, sizeof rec), -2);
  EXPECT_EQ(read_integer(*f->field("id"), rec, 12), std::nullopt);  // a short record
}

TEST(Tracefs, DecodesDataLocRelLocAndCharArrayStrings) {
  auto exec = parse_format(kExecFormat);
  ASSERT_TRUE(exec);
  uint8_t rec[40] = {};
  const char path[] = "/bin/true";
  uint32_t loc = (static_cast<uint32_t>(sizeof path) << 16) | 20;
  std::memcpy(rec + 8, &loc, 4);
  std::memcpy(rec + 20, path, sizeof path);
  EXPECT_EQ(read_string(*exec->field("filename"), rec, sizeof rec), "/bin/true");
  EXPECT_EQ(read_string(*exec->field("filename"), rec, 25), "/bin/");  // cut at the record's end

  auto enter = parse_format(kEnterFormat);
  ASSERT_TRUE(enter);
  uint8_t r2[120] = {};
  std::memcpy(r2 + 64, "bash\0\0\0", 7);
  uint32_t rel = (3u << 16) | 12;  // 12 bytes after the end of the field (84): at 96
  std::memcpy(r2 + 80, &rel, 4);
  std::memcpy(r2 + 96, "ab", 3);
  EXPECT_EQ(read_string(*enter->field("comm"), r2, sizeof r2), "bash");
  EXPECT_EQ(read_string(*enter->field("name"), r2, sizeof r2), "ab");
  EXPECT_EQ(read_string(*enter->field("id"), r2, sizeof r2), std::nullopt);
}

TEST(Tracefs, RefusesATextWithoutId) {
  auto f = parse_format("name: x\nformat:\n");
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message().find("no ID"), std::string::npos);
}

}  // namespace
}  // namespace probekit::kernel
