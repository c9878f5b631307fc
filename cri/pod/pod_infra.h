#pragma once
// The infra process of a pod that shares one PID namespace between its containers (CRI
// NamespaceMode POD): berth-pause as PID 1 of a new PID namespace, a child of berthd (cloned
// directly, not through a runtime plugin: it runs no image code) in its own session, so it
// survives a SIGKILL of berthd. Identified by pid + start time (so a recycled pid is never mistaken
// for it). Containers join /proc/<pid>/ns/pid.
//
// Free functions, callable from any thread.

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/status.h"

namespace berth {

struct InfraProcess {
  pid_t pid = 0;
  uint64_t start_time = 0;  // /proc/<pid>/stat field 22 (clock ticks since boot)
};

// berth-pause next to the running berthd binary.
std::string DefaultPausePath();

// Starts `pause_path --pod <pod_id>` as PID 1 of a new PID namespace.
Result<InfraProcess> StartInfraProcess(const std::string& pause_path, const std::string& pod_id);

// True when the process is still the one that was started.
bool InfraAlive(const InfraProcess& p);

// SIGKILLs it (if still the same process) and waits up to 5 s for it to be gone.
Status StopInfraProcess(const InfraProcess& p);

// An infra process of `pod_id` started but not recorded (a crash in between); pid 0 if none.
InfraProcess FindInfraProcess(const std::string& pod_id);

}  // namespace berth
