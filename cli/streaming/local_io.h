#pragma once
// The local ends of a streaming session: where stdin comes from and stdout/stderr go.
//
// berthctl's process passes its fds (FdInput/FdOutput: unbuffered, so an interactive shell's
// output appears at once); in-process runs (tests) pass C++ streams. FdInput::Read can be
// interrupted from another thread (the session ended while stdin is still open), so that no
// thread stays blocked on a terminal read.

#include <cstddef>
#include <istream>
#include <mutex>
#include <ostream>
#include <string_view>

#include "common/unique_fd.h"

namespace berth::cli::streaming {

class LocalInput {
 public:
  virtual ~LocalInput() = default;
  // Blocks for at least one byte; 0 at EOF, on an error, or after Interrupt().
  virtual size_t Read(char* buf, size_t len) = 0;
  // Any thread: makes the current and every later Read return 0.
  virtual void Interrupt() = 0;
};

class LocalOutput {
 public:
  virtual ~LocalOutput() = default;
  // Writes all of `data`; false when the destination is gone (EPIPE) — later writes fail too.
  virtual bool Write(std::string_view data) = 0;
};

class FdInput : public LocalInput {
 public:
  explicit FdInput(int fd);  // borrowed
  size_t Read(char* buf, size_t len) override;
  void Interrupt() override;

 private:
  int fd_;
  UniqueFd wake_;  // eventfd
};

class StreamInput : public LocalInput {
 public:
  explicit StreamInput(std::istream& in) : in_(in) {}
  size_t Read(char* buf, size_t len) override;
  void Interrupt() override {}  // in-process streams never block for long

 private:
  std::istream& in_;
};

class FdOutput : public LocalOutput {
 public:
  explicit FdOutput(int fd) : fd_(fd) {}  // borrowed
  bool Write(std::string_view data) override;

 private:
  int fd_;
  bool broken_ = false;
};

class StreamOutput : public LocalOutput {
 public:
  explicit StreamOutput(std::ostream& out) : out_(out) {}
  bool Write(std::string_view data) override;

 private:
  std::mutex mu_;
  std::ostream& out_;
};

}  // namespace berth::cli::streaming
