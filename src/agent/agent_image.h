// agent/agent_image.h — the agent's shared object, as built (agent.c with
// the agent's own flags), embedded in probekit. The engine's injector
// (engine/agent.h) loads it into a target: PT_LOAD segments copied, the
// R_X86_64_RELATIVE relocations applied for the chosen base.
#pragma once

#include <cstdint>
#include <span>

namespace probekit::agent {

std::span<const uint8_t> image();

}  // namespace probekit::agent
