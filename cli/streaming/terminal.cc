#include "cli/streaming/terminal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace berth::cli::streaming {
namespace {

constexpr int kFatalSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT};

// Shared with the signal handlers: plain globals, written before the handlers are installed.
std::atomic<bool> g_raw_active{false};
int g_raw_fd = -1;
struct termios g_saved;
struct sigaction g_old_fatal[sizeof kFatalSignals / sizeof kFatalSignals[0]];

std::atomic<bool> g_winch_active{false};
std::atomic<int> g_winch_pipe{-1};
struct sigaction g_old_winch;

void RestoreOnSignal(int sig) {
  // Async-signal-safe only: tcsetattr, sigaction, raise.
  if (g_raw_active.exchange(false)) ::tcsetattr(g_raw_fd, TCSAFLUSH, &g_saved);
  for (size_t i = 0; i < sizeof kFatalSignals / sizeof kFatalSignals[0]; ++i) {
    if (kFatalSignals[i] == sig) ::sigaction(sig, &g_old_fatal[i], nullptr);
  }
  (void)::raise(sig);  // SA_NODEFER: delivered now, with the old disposition
}

void OnWinch(int) {
  int saved = errno;
  int fd = g_winch_pipe.load();
  if (fd >= 0) {
    char c = 1;
    (void)!::write(fd, &c, 1);  // non-blocking; a full pipe already means "changed"
  }
  errno = saved;
}

}  // namespace

std::optional<WindowSize> GetWindowSize(int fd) {
  struct winsize ws {};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0) return std::nullopt;
  if (ws.ws_col == 0 && ws.ws_row == 0) return std::nullopt;
  return WindowSize{ws.ws_col, ws.ws_row};
}

Result<std::unique_ptr<RawTerminal>> RawTerminal::Enter(int fd) {
  if (!::isatty(fd)) return FailedPrecondition("input is not a terminal");
  struct termios saved;
  if (::tcgetattr(fd, &saved) != 0) return ErrnoStatus(errno, "reading the terminal settings");
  bool expected = false;
  if (!g_raw_active.compare_exchange_strong(expected, true)) {
    return FailedPrecondition("the terminal is already in raw mode");
  }
  g_raw_fd = fd;
  g_saved = saved;
  struct sigaction sa {};
  sa.sa_handler = RestoreOnSignal;
  sa.sa_flags = SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof kFatalSignals / sizeof kFatalSignals[0]; ++i) {
    ::sigaction(kFatalSignals[i], &sa, &g_old_fatal[i]);
  }
  struct termios raw = saved;
  ::cfmakeraw(&raw);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  if (::tcsetattr(fd, TCSANOW, &raw) != 0) {
    int err = errno;
    g_raw_active = false;
    for (size_t i = 0; i < sizeof kFatalSignals / sizeof kFatalSignals[0]; ++i) {
      ::sigaction(kFatalSignals[i], &g_old_fatal[i], nullptr);
    }
    return ErrnoStatus(err, "putting the terminal in raw mode");
  }
  return std::unique_ptr<RawTerminal>(new RawTerminal());
}

RawTerminal::~RawTerminal() {
  if (g_raw_active.exchange(false)) ::tcsetattr(g_raw_fd, TCSAFLUSH, &g_saved);
  for (size_t i = 0; i < sizeof kFatalSignals / sizeof kFatalSignals[0]; ++i) {
    ::sigaction(kFatalSignals[i], &g_old_fatal[i], nullptr);
  }
}

Result<std::unique_ptr<ResizeWatcher>> ResizeWatcher::Start(int tty_fd) {
  bool expected = false;
  if (!g_winch_active.compare_exchange_strong(expected, true)) {
    return FailedPrecondition("a terminal resize watcher is already running");
  }
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
    g_winch_active = false;
    return ErrnoStatus(errno, "creating the SIGWINCH pipe");
  }
  UniqueFd rd(p[0]), wr(p[1]);
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop) {
    g_winch_active = false;
    return ErrnoStatus(errno, "creating an eventfd");
  }
  g_winch_pipe = wr.release();
  struct sigaction sa {};
  sa.sa_handler = OnWinch;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGWINCH, &sa, &g_old_winch);
  return std::unique_ptr<ResizeWatcher>(new ResizeWatcher(tty_fd, std::move(rd), std::move(stop)));
}

ResizeWatcher::ResizeWatcher(int tty_fd, UniqueFd pipe_read, UniqueFd stop)
    : tty_fd_(tty_fd), pipe_read_(std::move(pipe_read)), stop_(std::move(stop)) {}

ResizeWatcher::~ResizeWatcher() {
  ::sigaction(SIGWINCH, &g_old_winch, nullptr);
  int wr = g_winch_pipe.exchange(-1);
  if (wr >= 0) ::close(wr);
  g_winch_active = false;
}

void ResizeWatcher::Stop() {
  uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof one);
}

bool ResizeWatcher::Next(WindowSize* size) {
  if (first_) {
    first_ = false;
    last_ = GetWindowSize(tty_fd_);
    if (last_) {
      *size = *last_;
      return true;
    }
  }
  for (;;) {
    struct pollfd fds[2] = {{pipe_read_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (fds[1].revents != 0) return false;
    char buf[64];
    while (::read(pipe_read_.get(), buf, sizeof buf) > 0) {
    }
    std::optional<WindowSize> now = GetWindowSize(tty_fd_);
    if (!now) return false;
    if (last_ && *now == *last_) continue;
    last_ = now;
    *size = *now;
    return true;
  }
}

}  // namespace berth::cli::streaming
