#pragma once
// Getting a unix socket path ready for berthd to listen on.

#include <string>

#include "common/status.h"

namespace berth {

// Makes `path` free to bind: creates its directory (mode 0700) when missing; removes a stale
// socket left by a berthd that died without cleaning up (nothing accepts on it); refuses with
// FAILED_PRECONDITION when a server still answers there or the path is not a socket, so one
// daemon never steals another's endpoint.
Status PrepareSocketPath(const std::string& path);

// Restricts a bound socket to root: owner root:root, mode 0660.
Status RestrictSocket(const std::string& path);

}  // namespace berth
