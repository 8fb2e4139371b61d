// proc/maps.h — /proc/PID/maps, parsed.
//
// The engine resolves modules (load bias, path) and finds room for its XOL
// areas from this table; remote syscalls look for an existing `syscall`
// instruction in the executable mappings it lists.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace probekit::proc {

struct MapEntry {
  uint64_t start = 0;
  uint64_t end = 0;
  std::string perms;   // "r-xp"
  uint64_t offset = 0;
  std::string dev;     // "fd:01"
  uint64_t inode = 0;
  std::string path;    // file path, "[vdso]", "[stack]", or empty (anonymous)

  bool readable() const { return perms.size() > 0 && perms[0] == 'r'; }
  bool writable() const { return perms.size() > 1 && perms[1] == 'w'; }
  bool executable() const { return perms.size() > 2 && perms[2] == 'x'; }
  bool contains(uint64_t addr) const { return addr >= start && addr < end; }
};

// Parses the text of a maps file; malformed lines are an io error.
Result<std::vector<MapEntry>> parse_maps(std::string_view text);
Result<std::vector<MapEntry>> read_maps(pid_t pid);

}  // namespace probekit::proc
