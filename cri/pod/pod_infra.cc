#include "cri/pod/pod_infra.h"

#include <cstdlib>

#include "common/fs.h"

namespace berth {
namespace {

// `pid` is gone, or a zombie nobody reaped yet.
bool IsZombieOrGone(pid_t pid) {
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return true;
  size_t p = stat->rfind(')');
  return p == std::string::npos || p + 2 >= stat->size() || (*stat)[p + 2] == 'Z';
}

}  // namespace

uint64_t ProcessStartTime(pid_t pid) {
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return 0;
  // The command name (field 2) may hold spaces; fields after it follow the last ')'.
  size_t p = stat->rfind(')');
  if (p == std::string::npos) return 0;
  std::string rest = stat->substr(p + 2);  // starts at field 3
  size_t field = 3, pos = 0;
  while (field < 22 && pos != std::string::npos) {
    pos = rest.find(' ', pos);
    if (pos != std::string::npos) ++pos;
    ++field;
  }
  if (pos == std::string::npos) return 0;
  return std::strtoull(rest.c_str() + pos, nullptr, 10);
}

bool InfraAlive(const InfraProcess& p) {
  return p.pid > 0 && !IsZombieOrGone(p.pid) && ProcessStartTime(p.pid) == p.start_time;
}

}  // namespace berth
