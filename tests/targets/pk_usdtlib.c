// pk_usdt's library: built as libpk_usdtlib.so (linked, loaded at start) and
// as pk_usdtdl.so (dlopen'ed late, function pkdl_work) with the same probe,
// pklib:work (i, "lib").
#include <string.h>
#include <sys/sdt.h>

#ifdef PK_USDT_DL
#define PK_WORK pkdl_work
#else
#define PK_WORK pklib_work
#endif

static const char* volatile kTag = "lib";

__attribute__((noinline)) long PK_WORK(long i) {
  const char* tag = kTag;
  STAP_PROBE2(pklib, work, i, tag);
  return i + (long)strlen(tag);
}
