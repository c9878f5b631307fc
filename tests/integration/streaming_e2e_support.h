#pragma once
// Child processes for streaming_e2e_test: berthctl run with a pipe or a pty as its stdin,
// stdout/stderr collected by a reader thread (or handed to a callback, for 64 MiB outputs),
// waited for with a deadline, signalled, and reaped in the destructor (SIGKILL if needed).

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace berth::testing {

class Child {
 public:
  enum class Stdin { kNull, kPipe, kPty };
  using Sink = std::function<void(const char*, size_t)>;

  // argv[0] is the program. With kPty the child gets a new session whose controlling
  // terminal is a fresh pty (stdin, stdout and stderr all on it); `rows`x`cols` is its size.
  // `stdout_sink`: stdout goes there instead of out() (not with kPty).
  Child(const std::vector<std::string>& argv, Stdin mode, Sink stdout_sink = nullptr, int rows = 24,
        int cols = 80)
      : sink_(std::move(stdout_sink)) {
    int in[2] = {-1, -1}, out[2], err[2];
    int master = -1, slave = -1;
    if (mode == Stdin::kPipe) (void)!::pipe2(in, O_CLOEXEC);
    if (mode == Stdin::kPty) {
      struct winsize ws {};
      ws.ws_row = static_cast<unsigned short>(rows);
      ws.ws_col = static_cast<unsigned short>(cols);
      (void)!::openpty(&master, &slave, nullptr, nullptr, &ws);
      ::fcntl(master, F_SETFD, FD_CLOEXEC);
      ::fcntl(slave, F_SETFD, FD_CLOEXEC);
    }
    (void)!::pipe2(out, O_CLOEXEC);
    (void)!::pipe2(err, O_CLOEXEC);
    pid_ = ::fork();
    if (pid_ == 0) {
      if (mode == Stdin::kPty) {
        ::setsid();
        ::ioctl(slave, TIOCSCTTY, 0);
        ::dup2(slave, 0);
        ::dup2(slave, 1);
        ::dup2(slave, 2);
      } else {
        int null = ::open("/dev/null", O_RDONLY);
        ::dup2(mode == Stdin::kPipe ? in[0] : null, 0);
        ::dup2(out[1], 1);
        ::dup2(err[1], 2);
      }
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    if (in[0] >= 0) ::close(in[0]);
    if (slave >= 0) ::close(slave);
    in_ = mode == Stdin::kPty ? master : in[1];
    master_ = master;
    readers_.emplace_back([this, fd = mode == Stdin::kPty ? master : out[0]] { Pump(fd, &out_); });
    readers_.emplace_back([this, fd = err[0]] { Pump(fd, &err_); });
    if (mode == Stdin::kPty) ::close(out[0]);
  }

  ~Child() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      Wait(std::chrono::seconds(10));
    }
    CloseStdin();
    for (auto& t : readers_) t.join();
    if (master_ >= 0) ::close(master_);
  }

  pid_t pid() const { return pid_; }
  int master() const { return master_; }

  void Write(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(in_, data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  void CloseStdin() {
    if (in_ >= 0 && in_ != master_) ::close(in_);
    if (in_ != master_) in_ = -1;
  }
  void Signal(int sig) { ::kill(pid_, sig); }
  void Resize(int rows, int cols) {
    struct winsize ws {};
    ws.ws_row = static_cast<unsigned short>(rows);
    ws.ws_col = static_cast<unsigned short>(cols);
    ::ioctl(master_, TIOCSWINSZ, &ws);  // the kernel sends SIGWINCH to the foreground group
  }

  // The exit code (128+signal when killed), or -1 when it is still running after `timeout`.
  int Wait(std::chrono::milliseconds timeout) {
    if (reaped_) return code_;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        // The output pipes end when the child (and anything holding them) is gone.
        if (master_ < 0) {
          for (auto& t : readers_) t.join();
          readers_.clear();
        }
        return code_;
      }
      if (std::chrono::steady_clock::now() > deadline) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  std::string out() const {
    std::lock_guard<std::mutex> lock(mu_);
    return out_;
  }
  std::string err() const {
    std::lock_guard<std::mutex> lock(mu_);
    return err_;
  }
  // Waits until stdout (the pty with kPty) contains `text`.
  bool WaitOut(const std::string& text, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return out_.find(text) != std::string::npos; });
  }
  bool WaitErr(const std::string& text, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return err_.find(text) != std::string::npos; });
  }

 private:
  void Pump(int fd, std::string* to) {
    char buf[64 * 1024];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (to == &out_ && sink_) {
        sink_(buf, static_cast<size_t>(n));
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      to->append(buf, static_cast<size_t>(n));
      cv_.notify_all();
    }
    if (fd != master_) ::close(fd);
  }

  Sink sink_;
  pid_t pid_ = -1;
  int in_ = -1, master_ = -1;
  bool reaped_ = false;
  int code_ = -1;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string out_, err_;
  std::vector<std::thread> readers_;
};

}  // namespace berth::testing
