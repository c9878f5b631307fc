#pragma once
// Who a container's first process runs as: the CRI security context (run_as_user,
// run_as_username, run_as_group, supplemental_groups and their policy) and the image's User,
// resolved against the image's /etc/passwd and /etc/group (as containerd and CRI-O do).
//
// Pure: takes the two files' contents (empty when the image has none). Thread-compatible.
// Errors: INVALID_ARGUMENT when run_as_group is given without a user, or when a user or group
// name is not in the image's files (the message names it and the file).

#include <cstdint>
#include <string>
#include <vector>

#include "api/cri.h"
#include "common/status.h"

namespace berth::container {

struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  // The primary gid first, then the groups of /etc/group naming the user (unless the policy
  // is Strict), then the requested supplemental groups; no duplicates.
  std::vector<uint32_t> additional_gids;
};

// Checks what needs no image files: run_as_group requires run_as_user or run_as_username.
Status ValidateUserRequest(const runtime::v1::LinuxContainerSecurityContext& sc);

// `image_user` is the image config's User: "", "name", "uid", "name:group", "uid:gid", ….
Result<ResolvedUser> ResolveUser(const runtime::v1::LinuxContainerSecurityContext& sc,
                                 const std::string& image_user, const std::string& passwd,
                                 const std::string& group);

}  // namespace berth::container
