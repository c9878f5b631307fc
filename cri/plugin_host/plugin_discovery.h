#pragma once
// Which files in the plugin directories are plugin libraries.

#include <string>
#include <vector>

#include "common/log.h"

namespace berth {

// Every "*.so" (regular file, or symlink to one) directly in `dirs`: directory by directory in
// the given order, file names sorted within each, so that loading is deterministic and the
// first of two plugins with the same name wins predictably. A file reachable twice (the same
// directory listed twice, or through a symlink) is returned once, at its first place. A
// directory that does not exist is skipped (logged at debug: the defaults name several that
// usually do not); one that cannot be read is logged as an error and skipped.
std::vector<std::string> FindPluginFiles(const std::vector<std::string>& dirs,
                                         const Logger& logger);

}  // namespace berth
