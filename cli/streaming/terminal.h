#pragma once
// The local terminal for `exec -t` / `attach -t`: raw mode and window-size changes.
//
// RawTerminal puts a tty in raw mode (like moby/term's MakeRaw, which crictl and kubectl use)
// and restores the saved settings on every exit path: its destructor, and a fatal signal
// (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT) that arrives while it is active — the
// handler restores the terminal, then lets the signal take its default action. One RawTerminal
// may be active per process at a time (the signal handlers share one saved state).
//
// ResizeWatcher turns SIGWINCH into a queue of sizes: Next() returns the current size first,
// then one size per change. One watcher per process at a time. Stop() (any thread) makes a
// blocked Next() return false.

#include <cstdint>
#include <memory>
#include <optional>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::cli::streaming {

struct WindowSize {
  uint16_t width = 0;   // columns
  uint16_t height = 0;  // rows
  friend bool operator==(const WindowSize&, const WindowSize&) = default;
};

// The window size of terminal `fd`; nullopt when it is not a terminal or reports 0x0.
std::optional<WindowSize> GetWindowSize(int fd);

class RawTerminal {
 public:
  // FAILED_PRECONDITION when `fd` is not a terminal or another RawTerminal is active.
  static Result<std::unique_ptr<RawTerminal>> Enter(int fd);
  ~RawTerminal();  // restores the saved settings and the previous signal dispositions
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  RawTerminal() = default;
};

class ResizeWatcher {
 public:
  // FAILED_PRECONDITION when another watcher is active; INTERNAL when the pipe cannot be made.
  static Result<std::unique_ptr<ResizeWatcher>> Start(int tty_fd);
  ~ResizeWatcher();  // restores the previous SIGWINCH disposition
  ResizeWatcher(const ResizeWatcher&) = delete;
  ResizeWatcher& operator=(const ResizeWatcher&) = delete;

  // Blocks until the next size (the first call: the current one; then only changes). False
  // after Stop() or when the terminal no longer reports a size.
  bool Next(WindowSize* size);
  void Stop();

 private:
  ResizeWatcher(int tty_fd, UniqueFd pipe_read, UniqueFd stop);
  int tty_fd_;
  UniqueFd pipe_read_, stop_;
  bool first_ = true;
  std::optional<WindowSize> last_;
};

}  // namespace berth::cli::streaming
