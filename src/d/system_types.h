// d/system_types.h — the system's types a D program gets without declaring
// them.
//
// dtrace reads the kernel's CTF and its D libraries (net.d, ip.d, ...), so
// `struct in6_addr`, `struct iphdr` or `in6_addr_t` name types in any
// program. probekit has no kernel CTF: these are the same types written
// from the Linux ABI (the kernel's uapi spellings, which dtrace's scripts
// use: `in6_u.u6_addr8`, `ihl`/`version`), as TargetAggregates, so the
// parser lays them out exactly as a target's DWARF type and a program may
// still define its own type of the same name, which wins.
#pragma once

#include <optional>
#include <string>

#include "d/program.h"

namespace probekit::d {

// "struct in6_addr", "union sigval", or a typedef's bare name
// ("in6_addr_t"); nullopt when the name is not one of them.
std::optional<TargetAggregate> system_type(const std::string& key);

}  // namespace probekit::d
