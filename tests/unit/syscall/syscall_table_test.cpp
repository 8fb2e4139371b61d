// The generated table against the header's own constants.
#include "syscall/syscall_table.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>

#include <set>
#include <string>

namespace probekit::syscalls {
namespace {

TEST(SyscallTable, NumbersEqualTheHeaderConstants) {
  EXPECT_EQ(syscall_number("read"), __NR_read);
  EXPECT_EQ(syscall_number("write"), __NR_write);
  EXPECT_EQ(syscall_number("openat"), __NR_openat);
  EXPECT_EQ(syscall_number("exit_group"), __NR_exit_group);
  EXPECT_EQ(syscall_number("clone3"), __NR_clone3);
  EXPECT_EQ(syscall_number("getppid"), __NR_getppid);
  EXPECT_EQ(__NR_read, 0);
  EXPECT_EQ(__NR_openat, 257);
}

TEST(SyscallTable, NamesOfNumbers) {
  EXPECT_EQ(syscall_name(__NR_read), "read");
  EXPECT_EQ(syscall_name(__NR_openat), "openat");
  EXPECT_EQ(syscall_name(__NR_clone3), "clone3");
  EXPECT_EQ(syscall_name(__NR_exit_group), "exit_group");
}

TEST(SyscallTable, UnknownNamesAndNumbers) {
  EXPECT_EQ(syscall_number("no_such_call"), std::nullopt);
  EXPECT_EQ(syscall_number(""), std::nullopt);
  EXPECT_EQ(syscall_number("__NR_read"), std::nullopt); // names carry no prefix
  EXPECT_EQ(syscall_name(-1), "");
  EXPECT_EQ(syscall_name(400), ""); // the hole between 334 (rseq) and 424
  EXPECT_EQ(syscall_name(100000), "");
}

TEST(SyscallTable, WholeTableIsSortedUniqueAndRoundTrips) {
  auto all = all_syscalls();
  ASSERT_GT(all.size(), 350u);
  EXPECT_EQ(all.front().name, "read");
  EXPECT_EQ(all.front().nr, 0);
  std::set<std::string_view> names;
  for (size_t i = 0; i < all.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(all[i - 1].nr, all[i].nr);
    }
    EXPECT_TRUE(names.insert(all[i].name).second) << all[i].name;
    EXPECT_EQ(syscall_number(all[i].name), all[i].nr);
    EXPECT_EQ(syscall_name(all[i].nr), all[i].name);
  }
  // Spot checks across the table, including after the 335..423 hole.
  EXPECT_EQ(syscall_number("rseq"), __NR_rseq);
  EXPECT_EQ(syscall_number("pidfd_send_signal"), __NR_pidfd_send_signal);
  EXPECT_EQ(syscall_number("io_uring_setup"), 425);
}

TEST(SyscallTable, GlobMatching) {
  EXPECT_EQ(match_syscalls("openat"), (std::vector<int>{__NR_openat}));
  EXPECT_EQ(match_syscalls("openat*"), (std::vector<int>{__NR_openat, __NR_openat2}));
  EXPECT_EQ(match_syscalls("get?id"),
            (std::vector<int>{__NR_getpid, __NR_getuid, __NR_getgid, __NR_getsid, __NR_gettid}));
  EXPECT_EQ(match_syscalls("clone[3]"), (std::vector<int>{__NR_clone3}));
  EXPECT_EQ(match_syscalls("nothing*matches"), std::vector<int>{});
  EXPECT_EQ(match_syscalls("*").size(), all_syscalls().size());
  // Every pread-ish call, ascending.
  EXPECT_EQ(match_syscalls("p*read*"),
            (std::vector<int>{__NR_pread64, __NR_preadv, __NR_process_vm_readv, __NR_preadv2}));
}

TEST(SyscallTable, Annotations) {
  EXPECT_EQ(syscall_arg_count(__NR_read), 3);
  EXPECT_EQ(syscall_arg_count(__NR_mmap), 6);
  EXPECT_EQ(syscall_arg_count(__NR_getpid), 0);
  EXPECT_EQ(syscall_arg_count(__NR_kexec_load), std::nullopt);
  EXPECT_EQ(syscall_arg_count(-5), std::nullopt);
  EXPECT_EQ(syscall_return_kind(__NR_openat), ReturnKind::fd);
  EXPECT_EQ(syscall_return_kind(__NR_mmap), ReturnKind::pointer);
  EXPECT_EQ(syscall_return_kind(__NR_read), ReturnKind::integer);
  EXPECT_EQ(syscall_return_kind(__NR_kexec_load), ReturnKind::integer);
}

} // namespace
} // namespace probekit::syscalls
