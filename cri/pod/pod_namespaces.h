#pragma once
// A pod's namespaces held open without a process: each is a bind mount of the namespace file
// (/proc/thread-self/ns/<kind>) of a short-lived thread that unshared it, onto an empty file
// in the pod's ns directory. The directory is bind-mounted onto itself and made private first,
// so the namespace mounts never propagate into other mount namespaces (whose copies would keep
// the namespaces alive after the pod is gone).
//
// Free functions: no state, callable from any thread. Every undo step is idempotent (missing
// files and directories are fine), so cleanup can run again after a crash.

#include <string>

#include "common/status.h"

namespace berth {

struct PodNamespaceRequest {
  std::string dir;       // e.g. <state>/pods/<id>/ns; created (0700) and mounted private
  bool net = false;      // create <dir>/net
  bool ipc = false;      // create <dir>/ipc
  bool uts = false;      // create <dir>/uts
  std::string hostname;  // set in the new UTS namespace (when uts)
};

// Creates the requested namespace files. On failure nothing is left mounted (the caller
// removes the directory through DestroyPodNamespaces).
Status CreatePodNamespaces(const PodNamespaceRequest& req);

// Unmounts and removes one namespace file (e.g. the netns at StopPodSandbox).
Status ReleaseNamespaceFile(const std::string& path);

// Unmounts and removes every namespace file in `dir`, then the directory's own mount and the
// directory itself.
Status DestroyPodNamespaces(const std::string& dir);

// True when `path` is a live namespace bind mount (false after a reboot or an unmount).
bool IsNamespaceMount(const std::string& path);

}  // namespace berth
