#pragma once
// Mounting a task's rootfs (the runtime proto's Mount list: overlay, bind, …) onto
// <bundle>/rootfs before the shim creates the container, and unmounting it on delete.

#include <string>

#include "berth/plugin/v1/common.pb.h"
#include "common/status.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace berth::runtime_shim {

// Mounts each entry, in order, onto `target` (created if missing). On error, what was mounted
// is unmounted again.
Status MountRootfs(const google::protobuf::RepeatedPtrField<plugin::v1::Mount>& mounts,
                   const std::string& target);

// Unmounts everything stacked on `target` (lazily). Missing or unmounted target is fine.
Status UnmountRootfs(const std::string& target);

}  // namespace berth::runtime_shim
