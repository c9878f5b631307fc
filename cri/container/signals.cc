#include "cri/container/signals.h"

#include <signal.h>

#include <cctype>
#include <charconv>
#include <string_view>

namespace berth::container {
namespace {

struct Named {
  const char* name;
  int number;
};
constexpr Named kSignals[] = {
    {"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"BUS", SIGBUS},       {"CHLD", SIGCHLD},
    {"CLD", SIGCHLD},  {"CONT", SIGCONT}, {"FPE", SIGFPE},       {"HUP", SIGHUP},
    {"ILL", SIGILL},   {"INT", SIGINT},   {"IO", SIGIO},         {"IOT", SIGIOT},
    {"KILL", SIGKILL}, {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},     {"PROF", SIGPROF},
    {"PWR", SIGPWR},   {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV},     {"STKFLT", SIGSTKFLT},
    {"STOP", SIGSTOP}, {"SYS", SIGSYS},   {"TERM", SIGTERM},     {"TRAP", SIGTRAP},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH},
    {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
};

bool ParseInt(std::string_view s, int* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<int> SignalNumber(const std::string& text) {
  std::string up;
  for (char c : text) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string_view s = up;
  int n = 0;
  if (ParseInt(s, &n) && n > 0 && n <= SIGRTMAX) return n;
  if (s.substr(0, 3) == "SIG") s.remove_prefix(3);
  for (const Named& sig : kSignals)
    if (s == sig.name) return sig.number;
  int off = 0;
  if (s == "RTMIN") return SIGRTMIN;
  if (s == "RTMAX") return SIGRTMAX;
  if (s.substr(0, 6) == "RTMIN+" && ParseInt(s.substr(6), &off))
    n = SIGRTMIN + off;
  else if (s.substr(0, 9) == "RTMINPLUS" && ParseInt(s.substr(9), &off))
    n = SIGRTMIN + off;
  else if (s.substr(0, 6) == "RTMAX-" && ParseInt(s.substr(6), &off))
    n = SIGRTMAX - off;
  else if (s.substr(0, 10) == "RTMAXMINUS" && ParseInt(s.substr(10), &off))
    n = SIGRTMAX - off;
  if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
  return InvalidArgument("unknown signal \"" + text + "\"");
}

}  // namespace berth::container
