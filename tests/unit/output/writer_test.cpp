#include "output/writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "util/fd.h"

using namespace probekit;
using namespace probekit::output;

namespace {

// Everything currently readable from a non-blocking pipe.
std::string drain(int fd) {
  std::string out;
  char buf[256];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

TEST(Writer, WritesWholeLinesOnly) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
  Fd rd(p[0]), wr(p[1]);
  {
    Writer w = Writer::to_fd(wr.get());
    ASSERT_TRUE(w.write("abc").ok());
    EXPECT_EQ(drain(rd.get()), "");
    ASSERT_TRUE(w.write("def\nxy").ok());
    EXPECT_EQ(drain(rd.get()), "abcdef\n");
    ASSERT_TRUE(w.write("1\n2\n3").ok());
    EXPECT_EQ(drain(rd.get()), "xy1\n2\n");
    ASSERT_TRUE(w.flush().ok());
    EXPECT_EQ(drain(rd.get()), "3");
    ASSERT_TRUE(w.flush().ok());
    EXPECT_EQ(drain(rd.get()), "");
    ASSERT_TRUE(w.write("tail").ok());
    Writer moved = std::move(w);  // the moved-from writer must not flush
    EXPECT_EQ(drain(rd.get()), "");
  }
  // The destructor flushed the partial line.
  EXPECT_EQ(drain(rd.get()), "tail");
}

TEST(Writer, FileIsCreatedAndTruncated) {
  char dir[] = "/tmp/pk_writer_XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/out.txt";
  {
    auto w = Writer::open(path);
    ASSERT_TRUE(w.ok()) << w.error().message();
    ASSERT_TRUE(w->write("first line that is long\n").ok());
  }
  {
    auto w = Writer::open(path);
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(w->path(), path);
    ASSERT_TRUE(w->write("a\nb").ok());
    EXPECT_EQ(*read_file(path), "a\n");
  }
  EXPECT_EQ(*read_file(path), "a\nb");
  ::unlink(path.c_str());
  ::rmdir(dir);
}

TEST(Writer, PreparedFileIsTruncatedOnlyWhenOutputStarts) {
  char dir[] = "/tmp/pk_writer_XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/out.txt";
  {
    auto w = Writer::open(path);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->write("old contents\n").ok());
  }
  {
    auto w = Writer::prepare(path);  // set-up fails after this: the file stays as it was
    ASSERT_TRUE(w.ok()) << w.error().message();
  }
  EXPECT_EQ(*read_file(path), "old contents\n");
  {
    auto w = Writer::prepare(path);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->start().ok());
    EXPECT_EQ(*read_file(path), "");
    ASSERT_TRUE(w->write("new\n").ok());
  }
  EXPECT_EQ(*read_file(path), "new\n");
  // A file prepare() created is removed when output never started.
  std::string fresh = std::string(dir) + "/fresh.txt";
  { ASSERT_TRUE(Writer::prepare(fresh).ok()); }
  EXPECT_NE(::access(fresh.c_str(), F_OK), 0);
  // A symbolic link is not followed.
  std::string link = std::string(dir) + "/link.txt";
  ASSERT_EQ(::symlink(path.c_str(), link.c_str()), 0);
  auto l = Writer::prepare(link);
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.error().message().find("is a symbolic link to '" + path + "'"), std::string::npos)
      << l.error().message();
  EXPECT_EQ(*read_file(path), "new\n");
  ::unlink(link.c_str());
  ::unlink(path.c_str());
  ::rmdir(dir);
}

TEST(Writer, OpenErrorsNameTheFile) {
  auto w = Writer::open("/nonexistent-dir/x.txt");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().errnum(), ENOENT);
  EXPECT_EQ(w.error().message().rfind("cannot open output file '/nonexistent-dir/x.txt': ", 0), 0u)
      << w.error().message();
  auto dash = Writer::open("-");
  ASSERT_TRUE(dash.ok());
  EXPECT_EQ(dash->path(), "<stdout>");
}

TEST(Writer, WriteErrorsStick) {
  auto ro = Fd::open("/dev/null", O_RDONLY);
  ASSERT_TRUE(ro.ok());
  Writer w = Writer::to_fd(ro->get());
  auto st = w.write("x\n");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().errnum(), EBADF);
  EXPECT_EQ(st.error().kind(), ErrorKind::io);
  auto again = w.write("y\n");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message(), st.error().message());
  EXPECT_FALSE(w.flush().ok());
}
