#include "cri/container/user_resolver.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <sstream>

namespace berth::container {
namespace {

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0, gid = 0;
};
struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

std::optional<uint32_t> ParseId(const std::string& s) {
  uint32_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Malformed lines are skipped, as libc's getpwent does.
std::vector<PasswdEntry> ParsePasswd(const std::string& text) {
  std::vector<PasswdEntry> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto f = Split(line, ':');
    if (f.size() < 4) continue;
    auto uid = ParseId(f[2]), gid = ParseId(f[3]);
    if (!uid || !gid) continue;
    out.push_back({f[0], *uid, *gid});
  }
  return out;
}

std::vector<GroupEntry> ParseGroup(const std::string& text) {
  std::vector<GroupEntry> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto f = Split(line, ':');
    if (f.size() < 3) continue;
    auto gid = ParseId(f[2]);
    if (!gid) continue;
    GroupEntry g{f[0], *gid, {}};
    if (f.size() >= 4 && !f[3].empty()) g.members = Split(f[3], ',');
    out.push_back(std::move(g));
  }
  return out;
}

Result<uint32_t> CheckedId(int64_t v, const char* what) {
  // 2^32-1 is (uid_t)-1, "no change" for the kernel: never a valid id.
  if (v < 0 || v >= 0xffffffffLL) {
    return InvalidArgument(std::string(what) + " " + std::to_string(v) +
                           " is out of range [0, 4294967294]");
  }
  return static_cast<uint32_t>(v);
}

}  // namespace

Status ValidateUserRequest(const runtime::v1::LinuxContainerSecurityContext& sc) {
  if (sc.has_run_as_group() && !sc.has_run_as_user() && sc.run_as_username().empty()) {
    return InvalidArgument(
        "security_context.run_as_group is set without run_as_user or run_as_username: a group "
        "can only be given together with a user");
  }
  if (sc.has_run_as_user() && !sc.run_as_username().empty()) {
    return InvalidArgument(
        "security_context.run_as_user and run_as_username are mutually exclusive");
  }
  if (sc.has_run_as_user())
    BERTH_RETURN_IF_ERROR(CheckedId(sc.run_as_user().value(), "run_as_user").status());
  if (sc.has_run_as_group())
    BERTH_RETURN_IF_ERROR(CheckedId(sc.run_as_group().value(), "run_as_group").status());
  for (int64_t g : sc.supplemental_groups())
    BERTH_RETURN_IF_ERROR(CheckedId(g, "supplemental group").status());
  return OkStatus();
}

Result<ResolvedUser> ResolveUser(const runtime::v1::LinuxContainerSecurityContext& sc,
                                 const std::string& image_user, const std::string& passwd,
                                 const std::string& group) {
  BERTH_RETURN_IF_ERROR(ValidateUserRequest(sc));
  std::vector<PasswdEntry> users = ParsePasswd(passwd);
  std::vector<GroupEntry> groups = ParseGroup(group);
  auto by_uid = [&](uint32_t uid) -> const PasswdEntry* {
    for (const auto& u : users)
      if (u.uid == uid) return &u;
    return nullptr;
  };
  auto by_name = [&](const std::string& name) -> const PasswdEntry* {
    for (const auto& u : users)
      if (u.name == name) return &u;
    return nullptr;
  };

  ResolvedUser r;
  std::string name;  // the user's name when the image knows it (for /etc/group membership)
  auto set_uid = [&](uint32_t uid) {
    r.uid = uid;
    if (const PasswdEntry* e = by_uid(uid)) {
      r.gid = e->gid;
      name = e->name;
    }
  };
  auto set_name = [&](const std::string& n, const char* what) -> Status {
    const PasswdEntry* e = by_name(n);
    if (!e) {
      return InvalidArgument(std::string(what) + " \"" + n +
                             "\" is not in the image's /etc/passwd");
    }
    r.uid = e->uid;
    r.gid = e->gid;
    name = e->name;
    return OkStatus();
  };

  if (sc.has_run_as_user()) {
    set_uid(static_cast<uint32_t>(sc.run_as_user().value()));
  } else if (!sc.run_as_username().empty()) {
    BERTH_RETURN_IF_ERROR(set_name(sc.run_as_username(), "run_as_username"));
  } else {
    std::string u = image_user, g;
    if (auto colon = image_user.find(':'); colon != std::string::npos) {
      u = image_user.substr(0, colon);
      g = image_user.substr(colon + 1);
    }
    if (u.empty()) {
      set_uid(0);
    } else if (auto uid = ParseId(u)) {
      set_uid(*uid);
    } else {
      BERTH_RETURN_IF_ERROR(set_name(u, "image user"));
    }
    if (!g.empty()) {
      if (auto gid = ParseId(g)) {
        r.gid = *gid;
      } else {
        auto it = std::find_if(groups.begin(), groups.end(),
                               [&](const GroupEntry& e) { return e.name == g; });
        if (it == groups.end()) {
          return InvalidArgument("image user group \"" + g + "\" is not in the image's /etc/group");
        }
        r.gid = it->gid;
      }
    }
  }
  if (sc.has_run_as_group()) r.gid = static_cast<uint32_t>(sc.run_as_group().value());

  auto add = [&](uint32_t gid) {
    if (std::find(r.additional_gids.begin(), r.additional_gids.end(), gid) ==
        r.additional_gids.end())
      r.additional_gids.push_back(gid);
  };
  add(r.gid);
  if (sc.supplemental_groups_policy() != runtime::v1::SupplementalGroupsPolicy::Strict &&
      !name.empty()) {
    for (const GroupEntry& g : groups)
      if (std::find(g.members.begin(), g.members.end(), name) != g.members.end()) add(g.gid);
  }
  for (int64_t g : sc.supplemental_groups()) add(static_cast<uint32_t>(g));
  return r;
}

}  // namespace berth::container
