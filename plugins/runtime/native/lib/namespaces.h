#pragma once
// Namespace types ↔ clone flags and /proc/<pid>/ns names.

#include <string>

#include "plugins/runtime/native/lib/spec.h"

namespace berth::native {

int CloneFlag(NamespaceType type);
// The file name under /proc/<pid>/ns ("net", "mnt", …).
std::string ProcNsName(NamespaceType type);
// The order in which namespaces are joined by path: user first (it grants the capabilities
// needed to join the others), mount last (later paths are resolved in it).
const NamespaceType* JoinOrder(size_t* count);

}  // namespace berth::native
