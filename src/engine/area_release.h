// engine/area_release.h — probekit's areas taken back out of a target.
//
// The one idea: an area probekit mapped into a process (an XOL area, the
// agent's data and code areas) may go only when no thread can ever execute
// in it again. So, with every thread of the address space stopped and every
// patch out: no thread's rip is inside one (a thread in a jump site's
// relocated copy goes back to the original instruction, whose bytes are
// back; anywhere else it is single-stepped until it leaves), and no signal
// frame on any thread's stack resumes inside one (a signal taken inside a
// trampoline whose handler still runs).
//
// Why signal frames are the only stack words that count: a word can send
// a thread into an area only as the return address of a live frame or as
// a signal frame's saved rip. With every thread out of the areas, no live
// frame returns into one: code in the areas leaves them only by jumps,
// by relocated calls that push the original return address
// (x86/relocate.cpp), and by the entry trampoline's call of a relocated
// head, whose return point detach has already put back with every
// hijacked return (ReturnProbes::restore_agent_frames). Every other word
// pointing there is stale: a trampoline's pushes and the agent's return
// addresses stay below a frame the program later extends over without
// writing (counting them once kept a counting-only session's areas in a
// clean-clone CI run).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "engine/address_space.h"
#include "engine/agent.h"
#include "engine/trap_backend.h"
#include "proc/maps.h"
#include "util/result.h"

namespace probekit::engine {

struct AreaRange {
  uint64_t start = 0;
  uint64_t end = 0;
  bool contains(uint64_t a) const { return a >= start && a < end; }
};

// The areas of `as` that `maps` (of the process to clean: as's own, or a
// fork child's copy of it) still shows as probekit's: XOL areas as
// anonymous executable mappings, the areas of as's agent, of the agent it inherited
// and of the agents its jump sites use as "/memfd:probekit-agent" mappings.
// Anything the program mapped over them since is left alone.
std::vector<AreaRange> mapped_areas(const AddressSpace& as, const std::vector<proc::MapEntry>& maps);

// Moves stopped thread t out of every area (see above; jump sites are
// looked up in as). Steps at most kMaxLeaveSteps instructions; signals
// reported meanwhile go to t.held. false: it is still inside one.
constexpr int kMaxLeaveSteps = 10000;
Result<bool> leave_areas(Thread& t, const AddressSpace& as, const std::vector<AreaRange>& areas);

// Whether a signal frame on thread tid's stack, from rsp to the end of the
// mapping holding rsp (at most 1 MiB), resumes inside an area: a word
// pointing into one where a frame's rip is, with the frame's return word
// pointing at rt_sigreturn code. `found`, when given, gets the saved rip's
// address and value (for the note).
struct StackWord {
  uint64_t address = 0;
  uint64_t value = 0;
};
Result<bool> signal_frame_into(pid_t pid, pid_t tid, const std::vector<proc::MapEntry>& maps,
                               const std::vector<AreaRange>& areas, StackWord* found = nullptr);

// The SIGTRAP action of the process `remote` runs in, given back through
// every agent of `as` mapped there (areas) that installed it: a fork
// child's action may be its parent's agent's, whose replaced action may be
// a grandparent's agent's. true when it ends as an action an agent
// replaced, pointing into no area; false when the program installed its
// own over an agent's (it may chain to the agent's handler: the code must
// stay).
Result<bool> give_back_sigtrap(const AddressSpace& as, const RemoteThread& remote,
                               const std::vector<AreaRange>& areas);

// munmap of every area, run in the target's stopped thread `remote`.
Status unmap_areas(const RemoteThread& remote, const std::vector<AreaRange>& areas);

}  // namespace probekit::engine
