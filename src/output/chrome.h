// output/chrome.h — timelines: the Chrome trace event format (`-f chrome`),
// which Perfetto (ui.perfetto.dev) and chrome://tracing open.
//
// The one idea: a call is one complete event ("ph":"X", its start and
// duration) written when it returns, so the file needs no post-processing
// and nests as the calls did: per thread, ChromeTrace keeps the calls that
// have not returned yet as a stack, and a return closes the innermost open
// call of that function (calls above it that never saw their return, a
// longjmp or a missed return probe, are closed at the same moment, marked
// "unfinished"). Everything else (a `probekit trace` event, a D probe that
// is not an entry/return pair) is an instant event ("ph":"i", thread
// scope) with its fields as args. Each thread is named once by a metadata
// event ("ph":"M", "thread_name") with its comm.
//
// The file is the JSON Object Format, one event per line:
//   {"traceEvents":[
//   {"name":"thread_name","ph":"M","pid":1,"tid":1,"args":{"name":"server"}},
//   {"name":"work","cat":"a.out","ph":"X","ts":12.345,"dur":1.5,"pid":1,"tid":1},
//   ...
//   ],"displayTimeUnit":"ns"}
// Timestamps are CLOCK_MONOTONIC in microseconds with nanosecond decimals.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace probekit::output {

class ChromeTrace {
public:
  // The opening of the file.
  std::string begin();
  // A function (or system call) entered on a thread: nothing is written
  // until it returns. `category` is where it is ("a.out", "libc.so.6").
  std::string enter(int pid, int tid, std::string_view comm, std::string name, std::string category,
                    uint64_t ts_ns);
  // It returned: the "X" event of the innermost open call named `name` on
  // the thread (and of the calls above it, unfinished); "" when none is
  // open (its entry came before tracing started).
  std::string leave(int pid, int tid, std::string_view comm, std::string_view name, uint64_t ts_ns);
  // An instant event; `args` holds JSON literals by name.
  std::string instant(int pid, int tid, std::string_view comm, std::string_view name, std::string_view category,
                      uint64_t ts_ns, const std::vector<std::pair<std::string, std::string>>& args = {});
  // The calls still open (closed at the latest timestamp seen, marked
  // unfinished) and the end of the file.
  std::string end();

private:
  struct Open {
    std::string name;
    std::string category;
    uint64_t ts_ns = 0;
  };
  std::string event(std::string body);  // the separator, the event, a newline
  std::string thread(int pid, int tid, std::string_view comm);
  std::string complete(int pid, int tid, const Open& call, uint64_t end_ns, bool unfinished);

  bool first_ = true;
  uint64_t last_ns_ = 0;
  std::set<int> named_;                                // tids with a thread_name event
  std::map<std::pair<int, int>, std::vector<Open>> open_;  // (pid, tid) -> calls, outermost first
};

}  // namespace probekit::output
