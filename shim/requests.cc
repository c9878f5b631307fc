// Shim: the clients of shim.sock and the operations of the protocol.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "shim/protocol/frame.h"
#include "shim/shim.h"

namespace berth::shim {
namespace {

// Without chunked_output_limit both captured streams travel in the one final frame: each is
// held to what fits (the protocol's default of 16 MiB would not).
constexpr uint64_t kMaxSingleFrameOutput = (kMaxFrameSize - (64u << 10)) / 2;

v1::Response Ok() { return v1::Response(); }

Status NoProcess(const std::string& exec_id) {
  return NotFound(exec_id.empty() ? "the container has no init process"
                                  : "no exec process \"" + exec_id + "\"");
}

Result<UniqueFd> OpenStdio(const std::string& path, int flags) {
  if (path.empty()) return UniqueFd();
  UniqueFd fd(open(path.c_str(), flags | O_CLOEXEC, 0600));
  if (!fd) return ErrnoStatus(errno, "open " + path);
  return fd;
}

}  // namespace

void Shim::OnAccept() {
  for (;;) {
    int fd = accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    // Writes block (bounded) so that answers go out whole; reads never do.
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    uint64_t id = next_client_++;
    clients_[id].fd.reset(fd);
    Status s = loop_.Add(fd, EPOLLIN, [this, id](uint32_t) { OnClientReadable(id); });
    if (!s.ok()) CloseClient(id);
  }
}

void Shim::CloseClient(uint64_t id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  loop_.Remove(it->second.fd.get());
  clients_.erase(it);
}

void Shim::Reply(uint64_t id, const v1::Response& resp) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  if (!SendMessage(it->second.fd.get(), resp).ok()) CloseClient(id);
}

void Shim::OnClientReadable(uint64_t id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  char buf[4096];
  ssize_t n = recv(it->second.fd.get(), buf, sizeof(buf), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    CloseClient(id);
    return;
  }
  it->second.in.append(buf, static_cast<size_t>(n));
  std::string payload;
  for (;;) {
    auto c = clients_.find(id);
    if (c == clients_.end()) return;
    Result<bool> got = TakeFrame(c->second.in, &payload);
    if (!got.ok()) {
      Reply(id, ErrorResponse(got.status()));
      CloseClient(id);
      return;
    }
    if (!*got) return;
    v1::Request req;
    if (!req.ParseFromString(payload)) {
      Reply(id, ErrorResponse(InvalidArgument("request is not a berth.shim.v1.Request")));
      continue;
    }
    std::optional<v1::Response> resp = Handle(id, req);
    if (resp) Reply(id, *resp);
    trimmer_.Trim();       // requests run rarely used code (start, exec, stats): unmap it again
    if (exit_code_ < 0) {  // delete/shutdown: the answer is out, now leave
      exit_code_ = 0;
      loop_.Stop();
      return;
    }
  }
}

std::optional<v1::Response> Shim::Handle(uint64_t id, const v1::Request& req) {
  if (req.version() > v1::VERSION_1) {
    return ErrorResponse(FailedPrecondition("shim protocol version " +
                                            std::to_string(req.version()) + " is not supported"));
  }
  switch (req.op_case()) {
    case v1::Request::kStart:
      return DoStart(req.start());
    case v1::Request::kState: {
      ShimProcess* p = Find(req.state().exec_id());
      if (!p) return ErrorResponse(NoProcess(req.state().exec_id()));
      v1::Response r;
      FillState(*p, r.mutable_state());
      return r;
    }
    case v1::Request::kKill:
      return DoKill(req.kill());
    case v1::Request::kWait:
      return DoWait(id, req.wait());
    case v1::Request::kExec:
      return DoExec(id, req.exec());
    case v1::Request::kResize:
      return DoResize(req.resize());
    case v1::Request::kAttach: {
      ShimProcess* p = Find(req.attach().exec_id());
      if (!p) return ErrorResponse(NoProcess(req.attach().exec_id()));
      if (p->status == v1::PROCESS_STATUS_STOPPED) {
        v1::Response r;
        FillState(*p, r.mutable_state());
        return r;
      }
      p->attached.push_back(id);
      return std::nullopt;
    }
    case v1::Request::kUpdate:
      return DoUpdate(req.update());
    case v1::Request::kStats:
      return DoStats();
    case v1::Request::kReopenLog: {
      Status s = log_.Reopen();
      return s.ok() ? Ok() : ErrorResponse(s);
    }
    case v1::Request::kDelete:
      return DoDelete(req.delete_());
    case v1::Request::kShutdown:
      return DoShutdown();
    case v1::Request::kCloseStdin:
      return DoCloseStdin(req.close_stdin());
    default:
      return ErrorResponse(
          Unimplemented("shim operation " + std::to_string(req.op_case()) + " is not implemented"));
  }
}

void Shim::FillState(const ShimProcess& p, v1::ProcessState* out) {
  out->set_exec_id(p.exec_id);
  out->set_status(p.status);
  out->set_pid(static_cast<uint32_t>(p.proc.pid));
  out->set_exit_status(p.exit_status);
  out->set_signal(p.signal);
  out->set_started_at_unix_nano(p.started_ns);
  out->set_exited_at_unix_nano(p.exited_ns);
  out->set_oom_killed(p.oom_killed);
}

v1::Response Shim::DoStart(const v1::StartRequest& r) {
  ShimProcess* p = Find(r.exec_id());
  if (!p) return ErrorResponse(NoProcess(r.exec_id()));
  if (p->status != v1::PROCESS_STATUS_CREATED) {
    return ErrorResponse(FailedPrecondition("process \"" + r.exec_id() + "\" was already started"));
  }
  Status s = StartProcess(*p);
  if (!s.ok()) return ErrorResponse(s.Wrap("start"));
  p->status = v1::PROCESS_STATUS_RUNNING;
  p->started_ns = NowUnixNano();
  v1::Response resp;
  resp.mutable_start()->set_pid(static_cast<uint32_t>(p->proc.pid));
  return resp;
}

v1::Response Shim::DoKill(const v1::KillRequest& r) {
  ShimProcess* p = Find(r.exec_id());
  if (!p) return ErrorResponse(NoProcess(r.exec_id()));
  int sig = static_cast<int>(r.signal() ? r.signal() : SIGTERM);
  if (oci() && r.exec_id().empty() && p->status != v1::PROCESS_STATUS_STOPPED) {
    Status s = oci_->Kill(sig, r.all());
    if (s.ok()) return Ok();
    if (p->status == v1::PROCESS_STATUS_STOPPED) return Ok();  // exited meanwhile
    logger_.Warn("runtime kill failed; signalling directly", {{"error", s.ToString()}});
  }
  if (r.all() && !r.exec_id().empty() && p->status == v1::PROCESS_STATUS_RUNNING &&
      p->proc.pid > 0) {
    KillProcessTree(p->proc.pid, sig);  // the exec and what it started; the container stays
    return Ok();
  }
  if (r.all() && r.exec_id().empty() && cgroup()) {
    Result<std::vector<pid_t>> pids = cgroup()->Pids();
    if (pids.ok()) {
      for (pid_t pid : *pids) kill(pid, sig);
    }
  }
  if (p->status == v1::PROCESS_STATUS_CREATED && p->proc.pid <= 0) {
    return ErrorResponse(FailedPrecondition("process \"" + r.exec_id() + "\" was not started"));
  }
  if (p->status == v1::PROCESS_STATUS_STOPPED) {
    if (r.all()) return Ok();
    return ErrorResponse(NotFound("process \"" + r.exec_id() + "\" has already exited"));
  }
  if (syscall(SYS_pidfd_send_signal, p->proc.pidfd.get(), sig, nullptr, 0) != 0) {
    return ErrorResponse(ErrnoStatus(errno, "signal process"));
  }
  return Ok();
}

std::optional<v1::Response> Shim::DoWait(uint64_t id, const v1::WaitRequest& r) {
  ShimProcess* p = Find(r.exec_id());
  if (!p) return ErrorResponse(NoProcess(r.exec_id()));
  if (p->status == v1::PROCESS_STATUS_STOPPED) {
    v1::Response resp;
    FillState(*p, resp.mutable_state());
    return resp;
  }
  p->waiters.push_back(id);
  return std::nullopt;
}

std::optional<v1::Response> Shim::DoExec(uint64_t id, const v1::ExecRequest& r) {
  if (r.exec_id().empty()) return ErrorResponse(InvalidArgument("exec_id is required"));
  if (Find(r.exec_id())) {
    return ErrorResponse(AlreadyExists("exec \"" + r.exec_id() + "\" already exists"));
  }
  ShimProcess* init = Find("");
  if (!init || init->status != v1::PROCESS_STATUS_RUNNING) {
    return ErrorResponse(FailedPrecondition("the container is not running"));
  }
  nlohmann::json doc = nlohmann::json::parse(r.process_json(), nullptr, false);
  if (doc.is_discarded()) return ErrorResponse(InvalidArgument("process_json is not JSON"));
  Result<native::ProcessSpec> spec = native::ParseProcess(doc);
  if (!spec.ok()) return ErrorResponse(spec.status());

  auto p = std::make_unique<ShimProcess>();
  p->exec_id = r.exec_id();
  p->sync = r.sync();
  UniqueFd in, out_w, err_w;
  if (p->sync) {
    spec->terminal = false;
    p->chunked = r.chunked_output_limit() > 0;
    p->sync_client = id;
    if (p->chunked) {
      p->output_limit = r.chunked_output_limit();
    } else {
      p->output_limit = r.output_limit() && r.output_limit() < kMaxSingleFrameOutput
                            ? r.output_limit()
                            : kMaxSingleFrameOutput;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return ErrorResponse(ErrnoStatus(errno, "pipe"));
    p->out_r.reset(fds[0]);
    out_w.reset(fds[1]);
    if (pipe2(fds, O_CLOEXEC) != 0) return ErrorResponse(ErrnoStatus(errno, "pipe"));
    p->err_r.reset(fds[0]);
    err_w.reset(fds[1]);
  } else {
    // O_NONBLOCK: a FIFO's read end must not wait here for a writer (the loop would stop).
    Result<UniqueFd> i = OpenStdio(r.stdin_path(), O_RDONLY | O_NONBLOCK);
    Result<UniqueFd> o = OpenStdio(r.stdout_path(), O_WRONLY | O_CREAT | O_APPEND);
    Result<UniqueFd> e = OpenStdio(r.stderr_path(), O_WRONLY | O_CREAT | O_APPEND);
    if (!i.ok()) return ErrorResponse(i.status());
    if (!o.ok()) return ErrorResponse(o.status());
    if (!e.ok()) return ErrorResponse(e.status());
    in = std::move(*i);
    spec->terminal = r.terminal();
    // Without a terminal the process reads the FIFO itself, and blocking reads are what it
    // expects (the flag belongs to the open file, which it shares).
    if (in && !spec->terminal) fcntl(in.get(), F_SETFL, fcntl(in.get(), F_GETFL) & ~O_NONBLOCK);
    if (spec->terminal) {
      p->tty_sink = std::move(*o);
      if (p->tty_sink) {
        fcntl(p->tty_sink.get(), F_SETFL, fcntl(p->tty_sink.get(), F_GETFL) | O_NONBLOCK);
      }
    } else {
      out_w = std::move(*o);
      err_w = std::move(*e);
    }
  }
  if (oci()) {
    p->oci_process_json = r.process_json();
    p->oci_terminal = spec->terminal;
    if (!p->sync) {  // the runtime runs it at StartRequest
      p->oci_in = std::move(in);
      p->oci_out = std::move(out_w);
      p->oci_err = std::move(err_w);
      processes_[r.exec_id()] = std::move(p);
      return Ok();
    }
    Result<native::Process> proc =
        oci_->Exec(p->oci_process_json, false, {in.get(), out_w.get(), err_w.get()});
    if (!proc.ok()) return ErrorResponse(proc.status().Wrap("exec"));
    p->proc = std::move(*proc);
  } else {
    native::ExecOptions opts;
    opts.stdio = {in.get(), out_w.get(), err_w.get()};
    opts.logger = logger_;
    Result<native::Process> proc = native::Exec(*container_, *spec, opts);
    if (!proc.ok()) return ErrorResponse(proc.status().Wrap("exec"));
    p->proc = std::move(*proc);
  }
  out_w.reset();
  err_w.reset();
  ShimProcess& ref = *p;
  processes_[r.exec_id()] = std::move(p);
  auto fail = [&](const Status& s) {
    KillProcessTree(ref.proc.pid);
    ref.sync = false;  // answered here, not at the exit
    return ErrorResponse(s);
  };
  if (ref.proc.pty_master) {
    Status s = WatchOutput(ref, ref.proc.pty_master.get(), LogStream::kStdout);
    if (s.ok()) s = StartStdinPump(ref, std::move(in));
    if (!s.ok()) return fail(s);
  }
  for (auto [fd, stream] : {std::pair{ref.out_r.get(), LogStream::kStdout},
                            std::pair{ref.err_r.get(), LogStream::kStderr}}) {
    if (fd < 0) continue;
    Status s = WatchOutput(ref, fd, stream);
    if (!s.ok()) return fail(s);
  }
  if (!ref.sync) return Ok();  // parked: StartRequest runs it

  Status s = oci() ? OkStatus() : native::Start(ref.proc);  // oci: already running
  if (!s.ok()) return fail(s.Wrap("start exec"));
  ref.status = v1::PROCESS_STATUS_RUNNING;
  ref.started_ns = NowUnixNano();
  if (r.timeout_ms() > 0) {
    ref.timer.reset(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
    itimerspec its{};
    its.it_value.tv_sec = r.timeout_ms() / 1000;
    its.it_value.tv_nsec = (r.timeout_ms() % 1000) * 1000000;
    timerfd_settime(ref.timer.get(), 0, &its, nullptr);
    std::string exec_id = r.exec_id();
    int tfd = ref.timer.get();
    s = loop_.Add(tfd, EPOLLIN, [this, exec_id, tfd](uint32_t) {
      loop_.Remove(tfd);
      ShimProcess* q = Find(exec_id);
      if (!q || q->status == v1::PROCESS_STATUS_STOPPED) return;
      q->timed_out = true;
      KillProcessTree(q->proc.pid);
    });
    if (!s.ok()) return fail(s);
  }
  ref.waiters.push_back(id);
  return std::nullopt;
}

v1::Response Shim::DoResize(const v1::ResizeRequest& r) {
  ShimProcess* p = Find(r.exec_id());
  if (!p) return ErrorResponse(NoProcess(r.exec_id()));
  if (!p->proc.pty_master && p->oci_terminal && p->status == v1::PROCESS_STATUS_CREATED) {
    p->pending_rows = static_cast<unsigned short>(r.height());  // applied when it starts
    p->pending_cols = static_cast<unsigned short>(r.width());
    return Ok();
  }
  if (!p->proc.pty_master) {
    return ErrorResponse(FailedPrecondition("process \"" + r.exec_id() + "\" has no terminal"));
  }
  winsize ws{};
  ws.ws_row = static_cast<unsigned short>(r.height());
  ws.ws_col = static_cast<unsigned short>(r.width());
  if (ioctl(p->proc.pty_master.get(), TIOCSWINSZ, &ws) != 0) {
    return ErrorResponse(ErrnoStatus(errno, "TIOCSWINSZ"));
  }
  return Ok();
}

v1::Response Shim::DoUpdate(const v1::UpdateRequest& r) {
  nlohmann::json doc = nlohmann::json::parse(r.resources_json(), nullptr, false);
  if (doc.is_discarded()) return ErrorResponse(InvalidArgument("resources_json is not JSON"));
  Result<native::Resources> res = native::ParseResources(doc);
  if (!res.ok()) return ErrorResponse(res.status());
  if (oci()) {
    Status s = oci_->Update(r.resources_json());
    return s.ok() ? Ok() : ErrorResponse(s);
  }
  if (!cgroup()) return ErrorResponse(FailedPrecondition("the container has no cgroup"));
  Status s = cgroup()->Update(*res);
  return s.ok() ? Ok() : ErrorResponse(s);
}

v1::Response Shim::DoStats() {
  if (!cgroup()) return ErrorResponse(FailedPrecondition("the container has no cgroup"));
  Result<native::CgroupStats> st = cgroup()->Stats();
  if (!st.ok()) return ErrorResponse(st.status());
  v1::Response r;
  v1::StatsResponse* out = r.mutable_stats();
  out->set_cpu_usage_ns(st->cpu_usage_ns);
  out->set_memory_usage(st->memory_usage);
  out->set_memory_working_set(st->memory_working_set);
  out->set_memory_rss(st->memory_rss);
  out->set_memory_limit(st->memory_limit);
  out->set_pids(st->pids_current);
  out->set_oom_kill_count(st->oom_kill_count);
  return r;
}

v1::Response Shim::DoDelete(const v1::DeleteRequest& r) {
  ShimProcess* p = Find(r.exec_id());
  if (!p) return ErrorResponse(NoProcess(r.exec_id()));
  if (p->status == v1::PROCESS_STATUS_RUNNING) {
    return ErrorResponse(FailedPrecondition("process \"" + r.exec_id() + "\" is still running"));
  }
  if (!r.exec_id().empty() && p->status == v1::PROCESS_STATUS_CREATED) {
    if (p->proc.pid > 0) {  // oci: an exec not started has no process yet
      KillProcessTree(p->proc.pid);
      int ws;
      while (waitpid(p->proc.pid, &ws, 0) < 0 && errno == EINTR) {
      }
    }
    p->status = v1::PROCESS_STATUS_STOPPED;
  }
  if (r.exec_id().empty()) Cleanup();  // kills a created-only init, removes the cgroup
  v1::Response resp;
  FillState(*p, resp.mutable_state());
  if (r.exec_id().empty()) {
    exit_code_ = -1;  // leave once the answer is out
  } else {
    StopStdinPump(*p);  // nothing of it stays registered in the loop
    StopTty(*p);
    processes_.erase(r.exec_id());
  }
  return resp;
}

v1::Response Shim::DoCloseStdin(const v1::CloseStdinRequest& r) {
  ShimProcess* p = Find(r.exec_id());
  if (!p) return ErrorResponse(NoProcess(r.exec_id()));
  if (r.exec_id().empty()) stdin_keep_.reset();  // the container reads EOF once drained
  // A terminal's stdin pump ends now (an end-of-file character is typed once what is buffered
  // went in). An exec without a terminal reads its FIFO itself: its writer closes it.
  if (p->stdin_src && !r.exec_id().empty()) EndStdin(*p);
  return Ok();
}

v1::Response Shim::DoShutdown() {
  Cleanup();
  exit_code_ = -1;
  return Ok();
}

}  // namespace berth::shim
