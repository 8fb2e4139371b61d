// C++ exceptions thrown through probed functions (return probes must not
// break unwinding or catch). usage: pk_ret_cxx [COUNT [guarded]]
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

__attribute__((noipa)) int thrower(int n) {
  if (n % 3 == 0) throw std::runtime_error("bad " + std::to_string(n));
  return n * 2;
}

__attribute__((noipa)) int middle(int n) {
  int r = thrower(n);
  __asm__ volatile("" ::: "memory");
  return r + 1;
}

__attribute__((noipa)) int relay(int n) {
  try {
    return middle(n);
  } catch (const std::runtime_error&) {
    throw;  // __cxa_rethrow through a probed frame
  }
}

// Catches what relay rethrows and returns normally afterwards: its return
// must be reported like any other (the frame survived the exception).
__attribute__((noipa)) int guarded(int n) {
  try {
    return relay(n);
  } catch (const std::runtime_error&) {
    return -1;
  }
}

int main(int argc, char** argv) {
  int count = argc > 1 ? std::atoi(argv[1]) : 10;
  if (argc > 2 && std::strcmp(argv[2], "guarded") == 0) {
    long sum = 0;
    int caught = 0;
    for (int n = 0; n < count; n++) {
      int r = guarded(n);
      if (r < 0) {
        caught++;
      } else {
        sum += r;
      }
    }
    std::printf("guarded sum %ld caught %d\n", sum, caught);
    return 0;
  }
  long sum = 0;
  int caught = 0;
  std::string last;
  for (int n = 0; n < count; n++) {
    try {
      sum += relay(n);
    } catch (const std::exception& e) {
      caught++;
      last = e.what();
    }
  }
  std::printf("sum %ld caught %d last %s\n", sum, caught, last.c_str());
  return 0;
}
