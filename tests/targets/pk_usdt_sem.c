// The semaphore-guarded probe of pk_usdt (sys/sdt.h gives every probe of a
// translation unit a semaphore once _SDT_HAS_SEMAPHORES is defined, so it
// has its own file). A tracer raises pkapp_guarded_semaphore while the probe
// is armed; the program asks it first, as python does.
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

__extension__ unsigned short pkapp_guarded_semaphore __attribute__((unused)) __attribute__((section(".probes")));

__attribute__((noinline)) int pk_usdt_guarded(int v) {
  if (!__builtin_expect(pkapp_guarded_semaphore, 0)) return 0;
  STAP_PROBE1(pkapp, guarded, v * 10);
  return 1;
}
