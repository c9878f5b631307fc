// berth-pause: the infra process of a pod whose containers share a PID namespace (CRI
// NamespaceMode POD). berthd starts it as PID 1 of a new PID namespace (pod_infra.cc); it reaps
// orphans and otherwise sleeps, and exits on SIGTERM or SIGINT.
//
//   berth-pause --pod <pod id>
//
// The arguments only name the process (so berthd can find one it started but had not recorded
// before a crash). Tiny and dependency-free on purpose: it outlives berthd.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace {

void Quit(int) { _exit(0); }

void Reap(int) {
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = Quit;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sa.sa_handler = Reap;
  sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigaction(SIGCHLD, &sa, nullptr);
  for (;;) pause();
}
