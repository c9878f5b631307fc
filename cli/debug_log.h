#pragma once
// --debug output: request/response traces and resolution details, on stderr, one line each.

#include <ostream>
#include <string_view>

namespace berth::cli {

// A cheap value; prints nothing unless enabled. `err` must outlive it.
class DebugLog {
 public:
  DebugLog(bool enabled, std::ostream& err) : enabled_(enabled), err_(&err) {}

  bool enabled() const { return enabled_; }
  // Writes "DEBU <msg>" (crictl/logrus' debug tag) and a newline.
  void operator()(std::string_view msg) const {
    if (enabled_) *err_ << "DEBU " << msg << '\n' << std::flush;
  }

 private:
  bool enabled_;
  std::ostream* err_;
};

}  // namespace berth::cli
