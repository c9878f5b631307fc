// berth-pause: the program of berth's sandbox (pause) image, PID 1 of the PID namespace a pod's
// containers share (CRI NamespaceMode POD; cri/pod/pod_infra.h). It reaps the orphans that
// namespace's processes leave, otherwise sleeps, and exits on SIGTERM or SIGINT.
//
// Static and dependency-free on purpose: it is the only file of its image
// (scripts/make-test-images writes the image from it; the build generates a wrapper that
// passes it).
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
