// berth-shim: supervises one container (see shim.h and options.h).
#include <fcntl.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "common/log.h"
#include "shim/options.h"
#include "shim/shim.h"

namespace {

void Ready(int fd, const std::string& line) {
  if (fd < 0) return;
  (void)!write(fd, line.data(), line.size());
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace berth;  // NOLINT(google-build-using-namespace): a thin main
  Result<shim::ShimOptions> opts = shim::ParseOptions(argc, argv);
  if (!opts.ok()) {
    fprintf(stderr, "berth-shim: %s\n", opts.status().message().c_str());
    return 2;
  }
  if (!opts->foreground) {
    // Detach: the launcher reaps our parent at once; we are re-parented away from berthd.
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid > 0) _exit(0);
    setsid();
  }
  // Orphans of the container are re-parented to us (when there is no pid namespace), so we
  // reap them; and we keep running whatever happens to berthd.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  dup2(null, 0);
  dup2(null, 1);
  std::string log_file = opts->state_dir + "/shim.log";
  int err = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (err >= 0) {
    dup2(err, 2);
    close(err);
  }
  close(null);
  // Keep the heap small: a shim is mostly idle and there is one per container.
  mallopt(M_TRIM_THRESHOLD, 64 * 1024);
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);

  LogLevel level = ParseLogLevel(opts->log_level).value_or(LogLevel::kInfo);
  Logger logger = Logger(level).With({{"component", "shim"}, {"id", opts->id}});
  int ready_fd = opts->ready_fd;
  shim::Shim shim(*opts, logger);
  Status s = shim.Setup();
  if (!s.ok()) {
    logger.Error("setup failed", {{"error", s.ToString()}});
    Ready(ready_fd,
          "error " + std::to_string(static_cast<int>(s.code())) + " " + s.message() + "\n");
    return 1;
  }
  Ready(ready_fd, "ok " + std::to_string(getpid()) + " " + std::to_string(shim.init_pid()) + "\n");
  malloc_trim(0);
  return shim.Run();
}
