#pragma once
// Shim: everything berth-shim does once it runs — the container, its processes, their I/O and
// exits, and the clients of <state dir>/shim.sock — on one thread around an EventLoop.
//
//   Shim shim(options, logger);
//   Status s = shim.Setup();        // creates the container (parked before execve), listens
//   ... report readiness ...
//   int code = shim.Run();          // until delete/shutdown/SIGTERM
//
// Contract: single-threaded, and the process must be the container's parent (Setup forks it)
// and should be a child sub-reaper. Setup() blocks SIGCHLD/SIGTERM/SIGINT and takes them
// through a signalfd. Clients are answered with blocking writes bounded by SO_SNDTIMEO, so a
// client that stops reading cannot stall the loop for long. The exit of the init is written to
// <state dir>/exit.json before any client hears of it.

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "berth/shim/v1/shim.pb.h"
#include "common/log.h"
#include "common/status.h"
#include "plugins/runtime/native/lib/container.h"
#include "shim/code_trim.h"
#include "shim/cri_log.h"
#include "shim/event_loop.h"
#include "shim/oci_driver.h"
#include "shim/options.h"

namespace berth::shim {

namespace v1 = ::berth::shim::v1;
using ::berth::UniqueFd;

// One process the shim supervises: the container's init (exec_id "") or an exec.
struct ShimProcess {
  std::string exec_id;
  native::Process proc;
  v1::ProcessStatus status = v1::PROCESS_STATUS_CREATED;
  int32_t exit_status = 0;
  uint32_t signal = 0;
  int64_t started_ns = 0;
  int64_t exited_ns = 0;
  bool oom_killed = false;
  UniqueFd out_r, err_r;  // pipes the shim reads (absent when stdio goes to files directly)
  // Exec with a terminal: where the pty's output is copied (terminal_io.cc). Non-blocking: what
  // the sink cannot take waits in tty_pending while the pty is not read (tty_paused), so a slow
  // reader holds back the process, never the shim's loop.
  UniqueFd tty_sink;
  std::string tty_pending;
  bool tty_paused = false, tty_waiting = false;
  // Terminal stdin (the init's --stdin, an exec's stdin_path): the loop pumps the FIFO into the
  // pty master (terminal_io.cc). stdin_dst is a dup of the master registered for EPOLLOUT only
  // while stdin_pending (bounded by kStdinBufferMax) waits for room; stdin_src is not read
  // while stdin_pending is full. At EOF of stdin_src an end-of-file character is typed.
  UniqueFd stdin_src, stdin_dst;
  std::string stdin_pending;
  bool stdin_reading = false, stdin_waiting = false, stdin_eof = false;
  char stdin_last = '\n';  // the last byte written to the pty (a partial line needs two VEOFs)
  // Exec-sync state. `chunked`: output goes to `sync_client` as it arrives (OutputChunk
  // frames), at most output_limit bytes per stream, and nothing is kept; otherwise it is kept
  // in `captured` for the final answer. `taken` counts what was kept or sent per stream.
  bool sync = false;
  bool chunked = false;
  uint64_t sync_client = 0;
  uint64_t output_limit = 0;
  uint64_t taken[2] = {0, 0};
  std::string captured[2];
  bool truncated = false;
  bool timed_out = false;
  UniqueFd timer;
  std::vector<uint64_t> waiters;   // client ids waiting for the exit
  std::vector<uint64_t> attached;  // client ids streaming the output
  // oci mode: an exec is only run by StartRequest (the runtime has no parked exec), so what it
  // needs waits here; a resize before it starts is applied once the pty exists.
  std::string oci_process_json;
  UniqueFd oci_in, oci_out, oci_err;
  bool oci_terminal = false;
  unsigned short pending_rows = 0, pending_cols = 0;
};

class Shim {
 public:
  Shim(ShimOptions options, Logger logger);
  ~Shim();
  Shim(const Shim&) = delete;
  Shim& operator=(const Shim&) = delete;

  Status Setup();
  pid_t init_pid() const;
  // 0 after delete/shutdown, 1 when the loop failed.
  int Run();

 private:
  struct Client {
    UniqueFd fd;
    std::string in;
  };

  // Setup pieces (shim.cc).
  Status Listen();
  Status SetupOci(const native::OciSpec& spec, ShimProcess& init, native::Stdio stdio);
  // Lets a created process run (native: Start; oci: `start` for the init, `exec` for execs).
  Status StartProcess(ShimProcess& p);
  Status OpenStdin(native::Stdio* stdio);
  native::Cgroup* cgroup() const {
    return container_ ? container_->cgroup.get() : oci_cgroup_.get();
  }
  bool oci() const { return oci_.has_value(); }
  Status WatchOutput(ShimProcess& p, int fd, LogStream stream);
  void OnSignal();
  void OnOutput(const std::string& exec_id, int fd, LogStream stream);
  void DeliverOutput(ShimProcess& p, LogStream stream, const char* data, size_t len);
  void StopWatching(ShimProcess& p, int fd, LogStream stream);
  void DrainOutput(ShimProcess& p);
  void OnExit(ShimProcess& p, int wait_status);
  void FinishExit(ShimProcess& p);
  void CheckOom();
  void KillProcessTree(pid_t root, int sig = SIGKILL);
  // An exec's terminal output into its tty_sink (terminal_io.cc). CloseTtySink: once nothing
  // is pending (at once, or when the last bytes went out), the sink closes: EOF for its reader.
  void WriteTty(ShimProcess& p, const char* data, size_t len);
  void FlushTty(ShimProcess& p);
  void CloseTtySink(ShimProcess& p);
  void StopTty(ShimProcess& p);      // drops what is pending and every registration
  void DropTtySink(ShimProcess& p);  // the reader is gone: output is discarded from now on
  // Terminal stdin (terminal_io.cc). StartStdinPump takes `src` (a FIFO's read end); the process
  // must have its pty_master.
  Status StartStdinPump(ShimProcess& p, UniqueFd src);
  void OnStdinReadable(const std::string& exec_id);
  void FlushStdin(ShimProcess& p);
  void EndStdin(ShimProcess& p);  // stdin reached its end (EOF, close-stdin): VEOF once flushed
  void StopStdinPump(ShimProcess& p);
  void Cleanup();
  ShimProcess* Find(const std::string& exec_id);

  // Clients and requests (requests.cc).
  void OnAccept();
  void OnClientReadable(uint64_t id);
  void CloseClient(uint64_t id);
  void Reply(uint64_t id, const v1::Response& resp);
  // Answers now, or returns nullopt when the answer comes later (wait, exec sync).
  std::optional<v1::Response> Handle(uint64_t id, const v1::Request& req);
  v1::Response DoStart(const v1::StartRequest& r);
  v1::Response DoKill(const v1::KillRequest& r);
  std::optional<v1::Response> DoWait(uint64_t id, const v1::WaitRequest& r);
  std::optional<v1::Response> DoExec(uint64_t id, const v1::ExecRequest& r);
  v1::Response DoResize(const v1::ResizeRequest& r);
  v1::Response DoUpdate(const v1::UpdateRequest& r);
  v1::Response DoStats();
  v1::Response DoDelete(const v1::DeleteRequest& r);
  v1::Response DoShutdown();
  v1::Response DoCloseStdin(const v1::CloseStdinRequest& r);
  static void FillState(const ShimProcess& p, v1::ProcessState* out);

  ShimOptions options_;
  Logger logger_;
  EventLoop loop_;
  CriLogWriter log_;
  CodeTrimmer trimmer_;
  std::optional<native::Container> container_;  // native mode
  std::optional<OciDriver> oci_;                // oci mode
  std::unique_ptr<native::Cgroup> oci_cgroup_;  // oci mode: the runtime's cgroup, for stats/OOM
  UniqueFd stdin_r_, stdin_keep_;               // --stdin, and the FIFO's write end we hold
  std::map<std::string, std::unique_ptr<ShimProcess>> processes_;
  std::map<uint64_t, Client> clients_;
  uint64_t next_client_ = 1;
  UniqueFd listener_, signal_fd_, oom_fd_;
  bool oom_seen_ = false;
  bool exit_recorded_ = false;
  int exit_code_ = 0;
};

int64_t NowUnixNano();
v1::Response ErrorResponse(const Status& status);

}  // namespace berth::shim
