// Shim: the terminal of a process, both ways, without ever blocking the single thread.
//  - stdin: a pty has no "stdin" to hand to the process: what it reads is what is written into
//    the pty master, so the loop copies the stdin FIFO into it. Both ends are non-blocking; at
//    most kStdinBufferMax bytes wait for room in the pty (the FIFO is not read meanwhile, so a
//    fast writer is held back by the FIFO's own buffer); the buffer is released once empty.
//  - output of an exec: copied into its tty_sink (a FIFO a streaming session reads). When the
//    sink is full, the rest waits and the pty is not read until the sink takes it (the process
//    blocks on its terminal, as with a slow terminal); an exec's output never stalls the loop.
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

#include "shim/shim.h"

namespace berth::shim {
namespace {

constexpr size_t kStdinBufferMax = 16 * 1024;

}  // namespace

void Shim::WriteTty(ShimProcess& p, const char* data, size_t len) {
  p.tty_pending.append(data, len);
  FlushTty(p);
}

void Shim::FlushTty(ShimProcess& p) {
  while (p.tty_sink && !p.tty_pending.empty()) {
    ssize_t n = write(p.tty_sink.get(), p.tty_pending.data(), p.tty_pending.size());
    if (n > 0) {
      p.tty_pending.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    DropTtySink(p);  // EPIPE: the reader is gone; the output is dropped from now on
    return;
  }
  int pty = p.proc.pty_master.get();
  if (!p.tty_pending.empty()) {
    if (!p.tty_waiting) {
      std::string id = p.exec_id;
      Status s = loop_.Add(p.tty_sink.get(), EPOLLOUT, [this, id](uint32_t) {
        if (ShimProcess* q = Find(id)) FlushTty(*q);
      });
      if (!s.ok()) {  // cannot wait for room: drop rather than block
        DropTtySink(p);
        return;
      }
      p.tty_waiting = true;
    }
    if (!p.tty_paused && pty >= 0) {
      loop_.Remove(pty);  // hold the process back until the reader catches up
      p.tty_paused = true;
    }
    return;
  }
  std::string().swap(p.tty_pending);
  if (p.tty_waiting) {
    loop_.Remove(p.tty_sink.get());
    p.tty_waiting = false;
  }
  if (p.tty_paused) {
    p.tty_paused = false;
    if (pty >= 0 && !WatchOutput(p, pty, LogStream::kStdout).ok()) {
      logger_.Warn("cannot watch a terminal again", {{"exec_id", p.exec_id}});
    }
  }
  if (p.status == v1::PROCESS_STATUS_STOPPED && !p.proc.pty_master) p.tty_sink.reset();
}

void Shim::DropTtySink(ShimProcess& p) {
  bool paused = p.tty_paused;
  StopTty(p);
  p.tty_sink.reset();
  // The terminal must be read again (into nothing), or the process would block on it.
  int pty = p.proc.pty_master.get();
  if (paused && pty >= 0 && !WatchOutput(p, pty, LogStream::kStdout).ok()) {
    logger_.Warn("cannot watch a terminal again", {{"exec_id", p.exec_id}});
  }
}

void Shim::CloseTtySink(ShimProcess& p) {
  if (p.tty_pending.empty()) {
    StopTty(p);
    p.tty_sink.reset();
  }  // else FlushTty closes it after the last bytes (the process is stopped by now)
}

void Shim::StopTty(ShimProcess& p) {
  if (p.tty_waiting && p.tty_sink) loop_.Remove(p.tty_sink.get());
  p.tty_waiting = false;
  p.tty_paused = false;  // the pty is re-watched only by FlushTty; callers are ending it
  std::string().swap(p.tty_pending);
}

Status Shim::StartStdinPump(ShimProcess& p, UniqueFd src) {
  if (!src) return OkStatus();
  if (!p.proc.pty_master) return FailedPrecondition("stdin pump without a terminal");
  fcntl(src.get(), F_SETFL, fcntl(src.get(), F_GETFL) | O_NONBLOCK);
  // A second fd of the master: epoll keys registrations by fd, and the master itself is
  // registered for its output (EPOLLIN) for the process's whole life.
  UniqueFd dst(fcntl(p.proc.pty_master.get(), F_DUPFD_CLOEXEC, 3));
  if (!dst) return ErrnoStatus(errno, "dup pty");
  fcntl(dst.get(), F_SETFL, fcntl(dst.get(), F_GETFL) | O_NONBLOCK);
  std::string id = p.exec_id;
  BERTH_RETURN_IF_ERROR(
      loop_.Add(src.get(), EPOLLIN, [this, id](uint32_t) { OnStdinReadable(id); }));
  p.stdin_src = std::move(src);
  p.stdin_dst = std::move(dst);
  p.stdin_reading = true;
  p.stdin_eof = false;
  return OkStatus();
}

void Shim::OnStdinReadable(const std::string& exec_id) {
  ShimProcess* p = Find(exec_id);
  if (p == nullptr || !p->stdin_src) return;
  char buf[4096];
  size_t room = kStdinBufferMax - p->stdin_pending.size();
  ssize_t n = read(p->stdin_src.get(), buf, room < sizeof(buf) ? room : sizeof(buf));
  if (n > 0) {
    p->stdin_pending.append(buf, static_cast<size_t>(n));
    FlushStdin(*p);
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  EndStdin(*p);  // EOF (every writer closed), or a read error
}

void Shim::EndStdin(ShimProcess& p) {
  if (p.stdin_src) {
    if (p.stdin_reading) loop_.Remove(p.stdin_src.get());
    p.stdin_src.reset();
    p.stdin_reading = false;
  }
  if (!p.stdin_dst) return;  // no pump (or already ended)
  p.stdin_eof = true;
  FlushStdin(p);
}

void Shim::FlushStdin(ShimProcess& p) {
  if (!p.stdin_dst) return;
  while (!p.stdin_pending.empty()) {
    ssize_t n = write(p.stdin_dst.get(), p.stdin_pending.data(), p.stdin_pending.size());
    if (n > 0) {
      p.stdin_last = p.stdin_pending[static_cast<size_t>(n) - 1];
      p.stdin_pending.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    StopStdinPump(p);  // EIO: the terminal is gone with its process
    return;
  }
  if (!p.stdin_pending.empty()) {
    if (!p.stdin_waiting) {
      std::string id = p.exec_id;
      Status s = loop_.Add(p.stdin_dst.get(), EPOLLOUT, [this, id](uint32_t) {
        if (ShimProcess* q = Find(id)) FlushStdin(*q);
      });
      if (!s.ok()) {
        StopStdinPump(p);
        return;
      }
      p.stdin_waiting = true;
    }
    if (p.stdin_pending.size() >= kStdinBufferMax && p.stdin_reading) {
      loop_.Remove(p.stdin_src.get());  // hold the writer back until the pty takes more
      p.stdin_reading = false;
    }
    return;
  }
  std::string().swap(p.stdin_pending);  // give the memory back
  if (p.stdin_waiting) {
    loop_.Remove(p.stdin_dst.get());
    p.stdin_waiting = false;
  }
  if (p.stdin_src && !p.stdin_reading) {
    std::string id = p.exec_id;
    if (loop_.Add(p.stdin_src.get(), EPOLLIN, [this, id](uint32_t) { OnStdinReadable(id); }).ok()) {
      p.stdin_reading = true;
    }
  }
  if (!p.stdin_eof) return;
  // End of stdin with a terminal: type the end-of-file character, as a user would (^D). In
  // canonical mode a pending partial line takes one to be delivered and a second to read EOF.
  termios t{};
  char eof = 4;  // ^D
  bool canonical = true;
  if (tcgetattr(p.stdin_dst.get(), &t) == 0) {
    if (t.c_cc[VEOF] != 0) eof = static_cast<char>(t.c_cc[VEOF]);
    canonical = (t.c_lflag & ICANON) != 0;
  }
  char eofs[2] = {eof, eof};
  size_t count = canonical && p.stdin_last != '\n' ? 2 : 1;
  (void)!write(p.stdin_dst.get(), eofs, count);
  StopStdinPump(p);
}

void Shim::StopStdinPump(ShimProcess& p) {
  if (p.stdin_src && p.stdin_reading) loop_.Remove(p.stdin_src.get());
  if (p.stdin_dst && p.stdin_waiting) loop_.Remove(p.stdin_dst.get());
  p.stdin_src.reset();
  p.stdin_dst.reset();
  p.stdin_reading = p.stdin_waiting = false;
  std::string().swap(p.stdin_pending);
}

}  // namespace berth::shim
