#include "plugins/runtime/native/lib/namespaces.h"

#include <sched.h>

namespace berth::native {

int CloneFlag(NamespaceType type) {
  switch (type) {
    case NamespaceType::kPid:
      return CLONE_NEWPID;
    case NamespaceType::kNetwork:
      return CLONE_NEWNET;
    case NamespaceType::kMount:
      return CLONE_NEWNS;
    case NamespaceType::kIpc:
      return CLONE_NEWIPC;
    case NamespaceType::kUts:
      return CLONE_NEWUTS;
    case NamespaceType::kUser:
      return CLONE_NEWUSER;
    case NamespaceType::kCgroup:
      return CLONE_NEWCGROUP;
    case NamespaceType::kTime:
      return CLONE_NEWTIME;
  }
  return 0;
}

std::string ProcNsName(NamespaceType type) {
  switch (type) {
    case NamespaceType::kPid:
      return "pid";
    case NamespaceType::kNetwork:
      return "net";
    case NamespaceType::kMount:
      return "mnt";
    case NamespaceType::kIpc:
      return "ipc";
    case NamespaceType::kUts:
      return "uts";
    case NamespaceType::kUser:
      return "user";
    case NamespaceType::kCgroup:
      return "cgroup";
    case NamespaceType::kTime:
      return "time";
  }
  return "";
}

const NamespaceType* JoinOrder(size_t* count) {
  static const NamespaceType kOrder[] = {
      NamespaceType::kUser, NamespaceType::kIpc,    NamespaceType::kUts,  NamespaceType::kNetwork,
      NamespaceType::kPid,  NamespaceType::kCgroup, NamespaceType::kTime, NamespaceType::kMount};
  *count = sizeof(kOrder) / sizeof(kOrder[0]);
  return kOrder;
}

}  // namespace berth::native
