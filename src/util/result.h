// util/result.h — the library layers' error currency. Result and Error are
// part of the public API (include/probekit/result.h); util owns their
// implementation (result.cpp).
#pragma once
#include "probekit/result.h"
