// ContainerStreams: Exec and Attach (DialPod is in pod_dialer.cc). See container_streams.h.
#include "cri/container/container_streams.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "cri/container/stream_pumps.h"

namespace berth {

using container::FifoDir;
using container::PumpInput;
using container::PumpOutput;
using container::Wakeup;
using streaming::ExecStreams;

namespace {

// A killed exec (client gone) normally reports its exit at once; do not hang if it does not.
constexpr int kKilledExitWaitMs = 10000;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Waits until `a` or `b` is readable (or `timeout_ms` passes; -1 = forever). 0: a, 1: b, -1.
int WaitEither(int a, int b, int timeout_ms = -1) {
  for (;;) {
    pollfd pfd[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    int r = poll(pfd, 2, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    return pfd[0].revents ? 0 : 1;
  }
}

// The threads of one session, joined on destruction (after the inputs were told to stop).
class SessionThreads {
 public:
  SessionThreads(const ExecStreams& io, Wakeup& stop) : io_(io), stop_(stop) {}
  ~SessionThreads() { StopAndJoin(); }

  template <typename Fn>
  void Add(Fn&& fn) {
    threads_.emplace_back(std::forward<Fn>(fn));
  }
  template <typename Fn>
  void Outputs(Fn&& fn) {
    outputs_.emplace_back(std::forward<Fn>(fn));
  }
  void JoinOutputs() {
    for (std::thread& t : outputs_) t.join();
    outputs_.clear();
  }
  void StopAndJoin() {
    stop_.Fire();
    if (io_.in) io_.in->Stop();
    if (io_.resize) io_.resize->Stop();
    JoinOutputs();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  const ExecStreams& io_;
  Wakeup& stop_;
  std::vector<std::thread> threads_, outputs_;
};

// Registers `fire` on the client's cancellation for the scope.
class CancelGuard {
 public:
  CancelGuard(streaming::Cancellation* c, Wakeup& w) : c_(c) {
    handle_ = c_->OnCancel([&w] { w.Fire(); });
  }
  ~CancelGuard() { c_->Unregister(handle_); }

 private:
  streaming::Cancellation* c_;
  uint64_t handle_;
};

}  // namespace

ContainerStreams::ContainerStreams(ContainerManager& containers, PodLookup pods, Logger logger)
    : containers_(containers), pods_(std::move(pods)), logger_(std::move(logger)) {}

Result<int> ContainerStreams::Exec(const std::string& container_id,
                                   const std::vector<std::string>& cmd, const ExecStreams& io) {
  if (cmd.empty()) return InvalidArgument("cmd is required");
  if (io.cancel == nullptr) return InvalidArgument("exec session without a cancellation");
  Result<ContainerManager::StreamTarget> target = containers_.RunningTarget(container_id);
  if (!target.ok()) return target.status();
  const container::ContainerRecord& rec = target->rec;
  const RuntimeClient& rt = target->runtime;
  Result<nlohmann::json> process = container::ExecProcess(rec, cmd, io.tty);
  if (!process.ok()) return process.status();

  std::string exec_id = "stream-" + std::to_string(++serial_) + "-" + std::to_string(NowNs());
  FifoDir dir;
  BERTH_RETURN_IF_ERROR(dir.Create(rec.bundle + "/streams/" + exec_id).Wrap("exec in " + rec.id));
  plugin::v1::ExecProcessRequest req;
  req.set_id(rec.id);
  req.set_exec_id(exec_id);
  req.set_process_json(process->dump());
  req.set_sync(false);
  req.mutable_io()->set_terminal(io.tty);
  UniqueFd out_r, err_r, in_hold;
  std::string in_path;
  if (io.out) {
    Result<std::string> p = dir.Fifo("stdout");
    if (!p.ok()) return p.status();
    Result<UniqueFd> fd = FifoDir::OpenReader(*p);
    if (!fd.ok()) return fd.status();
    out_r = std::move(*fd);
    req.mutable_io()->set_stdout(*p);
  }
  if (io.err && !io.tty) {
    Result<std::string> p = dir.Fifo("stderr");
    if (!p.ok()) return p.status();
    Result<UniqueFd> fd = FifoDir::OpenReader(*p);
    if (!fd.ok()) return fd.status();
    err_r = std::move(*fd);
    req.mutable_io()->set_stderr(*p);
  }
  if (io.in) {
    Result<std::string> p = dir.Fifo("stdin");
    if (!p.ok()) return p.status();
    in_path = *p;
    // Both ends at once: opening never waits, and the shim's O_RDONLY open finds a writer.
    in_hold.reset(open(in_path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!in_hold) return ErrnoStatus(errno, "open " + in_path);
    req.mutable_io()->set_stdin(in_path);
  }

  std::shared_ptr<ContainerManager::ExitWaiter> exited = containers_.ExpectExit(rec.id, exec_id);
  Result<plugin::v1::ExecProcessResponse> created = rt.Exec(req);
  if (!created.ok()) return created.status().Wrap("exec in " + rec.id);
  // From here on the exec exists in the shim: always delete it.
  struct DeleteExec {
    const RuntimeClient& rt;
    const std::string &id, &exec_id;
    ~DeleteExec() { (void)rt.Delete(id, exec_id); }
  } delete_exec{rt, rec.id, exec_id};
  UniqueFd in_w;
  if (io.in) {
    // Hand over: a plain writer (the exec holds the read end now), so that our close is its EOF.
    in_w.reset(open(in_path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!in_w) return ErrnoStatus(errno, "open " + in_path);
    in_hold.reset();
  }

  Wakeup cancelled, stop, drain;
  CancelGuard cancel_guard(io.cancel, cancelled);
  SessionThreads threads(io, stop);
  if (io.resize && io.tty) {
    threads.Add([&rt, &rec, &exec_id, r = io.resize] {
      streaming::TerminalSize size;
      while (r->Next(&size)) {
        if (size.width == 0 || size.height == 0) continue;
        (void)rt.ResizePty(rec.id, exec_id, size.width, size.height);
      }
    });
  }
  Result<uint32_t> started = rt.Start(rec.id, exec_id);
  if (!started.ok()) return started.status().Wrap("start exec in " + rec.id);
  if (io.in) {
    threads.Add([in = io.in, fd = std::move(in_w), &stop]() mutable {
      PumpInput(in, std::move(fd), stop);  // EOF or error: our end closes, the process sees EOF
    });
  }
  if (out_r) {
    threads.Outputs([fd = std::move(out_r), out = io.out, &drain, &stop]() mutable {
      PumpOutput(std::move(fd), out, drain, stop);
    });
  }
  if (err_r) {
    threads.Outputs([fd = std::move(err_r), err = io.err, &drain, &stop]() mutable {
      PumpOutput(std::move(fd), err, drain, stop);
    });
  }

  bool client_gone = WaitEither(exited->fd(), cancelled.fd()) == 1 && !exited->exited();
  if (client_gone) {
    // kubelet's semantics: the process does not outlive its session. Its children neither.
    Status k = rt.Kill(rec.id, SIGKILL, /*all=*/true, exec_id);
    if (!k.ok()) logger_.Warn("kill exec", {{"id", rec.id}, {"error", k.message()}});
    if (WaitEither(exited->fd(), exited->fd(), kKilledExitWaitMs) < 0) {
      logger_.Warn("killed exec did not report its exit", {{"id", rec.id}, {"exec", exec_id}});
    }
    stop.Fire();  // nobody reads the output any more
  }
  drain.Fire();
  threads.JoinOutputs();
  threads.StopAndJoin();
  logger_.Debug("exec session ended", {{"id", rec.id},
                                       {"exec", exec_id},
                                       {"exit_code", exited->exit_status()},
                                       {"client_gone", client_gone}});
  if (client_gone) return Status(StatusCode::kCancelled, "the client went away; exec killed");
  return exited->exit_status();
}

Status ContainerStreams::Attach(const std::string& container_id, const ExecStreams& io) {
  if (io.cancel == nullptr) return InvalidArgument("attach session without a cancellation");
  Result<ContainerManager::StreamTarget> first = containers_.RunningTarget(container_id);
  if (!first.ok()) return first.status();
  // Waiter first, then the state again: an exit in between is either seen here or fires it.
  std::shared_ptr<ContainerManager::ExitWaiter> exited = containers_.ExpectExit(first->rec.id, "");
  Result<ContainerManager::StreamTarget> target = containers_.RunningTarget(first->rec.id);
  if (!target.ok()) return target.status();
  const container::ContainerRecord& rec = target->rec;
  const RuntimeClient& rt = target->runtime;
  const bool tty = rec.config.tty();
  bool has_stdin = io.in != nullptr && rec.config.stdin();

  FifoDir dir;
  BERTH_RETURN_IF_ERROR(dir.Create(rec.bundle + "/streams/attach-" + std::to_string(++serial_) +
                                   "-" + std::to_string(NowNs()))
                            .Wrap("attach to " + rec.id));
  plugin::v1::TaskIO tio;
  tio.set_terminal(tty);
  UniqueFd out_r, err_r, in_w;
  // With a tty the container has one output stream: it goes to stdout, or to stderr when the
  // client only asked for that.
  streaming::OutputChannel* out_ch = io.out ? io.out : (tty ? io.err : nullptr);
  streaming::OutputChannel* err_ch = tty ? nullptr : io.err;
  if (out_ch) {
    Result<std::string> p = dir.Fifo("stdout");
    if (!p.ok()) return p.status();
    Result<UniqueFd> fd = FifoDir::OpenReader(*p);
    if (!fd.ok()) return fd.status();
    out_r = std::move(*fd);
    tio.set_stdout(*p);
  }
  if (err_ch) {
    Result<std::string> p = dir.Fifo("stderr");
    if (!p.ok()) return p.status();
    Result<UniqueFd> fd = FifoDir::OpenReader(*p);
    if (!fd.ok()) return fd.status();
    err_r = std::move(*fd);
    tio.set_stderr(*p);
  }
  if (has_stdin) {
    // The shim (or the container) holds the read end: this open does not wait.
    std::string path = container::StdinFifoPath(rec);
    in_w.reset(open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!in_w && errno == ENXIO) {
      // Nobody reads it any more (closed by an earlier stdin_once session): the session goes
      // on without stdin, as with containerd.
      logger_.Info("attach: the container's stdin is closed", {{"id", rec.id}});
      has_stdin = false;
    } else if (!in_w) {
      return ErrnoStatus(errno, "open stdin of container " + rec.id + " (" + path + ")");
    }
  }
  if (out_r || err_r) {
    Status s = rt.Attach(rec.id, "", tio);
    if (!s.ok()) return s.Wrap("attach to " + rec.id);
  }

  Wakeup cancelled, stop, drain;
  CancelGuard cancel_guard(io.cancel, cancelled);
  SessionThreads threads(io, stop);
  const bool stdin_once = rec.config.stdin_once();
  if (has_stdin) {
    threads.Add([in = io.in, fd = std::move(in_w), &stop, &rt, &rec, stdin_once]() mutable {
      bool ended = PumpInput(in, std::move(fd), stop);
      // stdin_once: the first session's end of stdin is the container's.
      if (ended && stdin_once) (void)rt.CloseIO(rec.id);
    });
  }
  if (io.resize && tty) {
    threads.Add([&rt, &rec, r = io.resize] {
      streaming::TerminalSize size;
      while (r->Next(&size)) {
        if (size.width == 0 || size.height == 0) continue;
        (void)rt.ResizePty(rec.id, "", size.width, size.height);
      }
    });
  }
  if (out_r) {
    threads.Outputs([fd = std::move(out_r), out_ch, &drain, &stop]() mutable {
      PumpOutput(std::move(fd), out_ch, drain, stop);
    });
  }
  if (err_r) {
    threads.Outputs([fd = std::move(err_r), err_ch, &drain, &stop]() mutable {
      PumpOutput(std::move(fd), err_ch, drain, stop);
    });
  }

  bool client_gone = WaitEither(exited->fd(), cancelled.fd()) == 1 && !exited->exited();
  if (client_gone) {
    stop.Fire();  // our FIFO ends close below: the runtime's copy ends with them
    if (has_stdin && stdin_once) (void)rt.CloseIO(rec.id);
  }
  drain.Fire();
  threads.JoinOutputs();
  threads.StopAndJoin();
  logger_.Debug("attach session ended",
                {{"id", rec.id}, {"client_gone", client_gone}, {"exited", exited->exited()}});
  return OkStatus();
}

}  // namespace berth
