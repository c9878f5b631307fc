#include "plugins/network/cni/cni_result.h"

namespace berth::cni {
namespace {

std::string Str(const nlohmann::json& j, const char* key) {
  if (j.is_object() && j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  return "";
}

void Strings(const nlohmann::json& j, const char* key, std::vector<std::string>& out) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_array()) return;
  for (const auto& v : j[key]) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

}  // namespace

ParsedResult ParseResult(const nlohmann::json& result, const std::string& ifname) {
  ParsedResult r;
  if (!result.is_object()) return r;
  std::vector<ResultIp> v4, v6;
  auto add = [&](ResultIp ip) {
    if (ip.address.empty()) return;
    (ip.address.find(':') == std::string::npos ? v4 : v6).push_back(std::move(ip));
  };
  if (result.contains("ips") && result["ips"].is_array()) {  // 0.3.0 and later
    const nlohmann::json empty = nlohmann::json::array();
    const nlohmann::json& ifs = result.contains("interfaces") && result["interfaces"].is_array()
                                    ? result["interfaces"]
                                    : empty;
    for (const auto& ip : result["ips"]) {
      ResultIp out{"", Str(ip, "address"), Str(ip, "gateway")};
      if (ip.is_object() && ip.contains("interface") && ip["interface"].is_number_integer()) {
        auto idx = ip["interface"].get<int64_t>();
        if (idx < 0 || static_cast<size_t>(idx) >= ifs.size()) continue;
        const auto& itf = ifs[static_cast<size_t>(idx)];
        // Host-side interfaces (veth peer, bridge) have no sandbox; skip their addresses.
        if (Str(itf, "sandbox").empty() || Str(itf, "name") != ifname) continue;
        out.interface = Str(itf, "name");
      }
      add(std::move(out));
    }
  } else {  // 0.1.0 / 0.2.0: "ip4"/"ip6" objects
    for (const char* fam : {"ip4", "ip6"}) {
      if (result.contains(fam)) add({ifname, Str(result[fam], "ip"), Str(result[fam], "gateway")});
    }
  }
  for (auto& ip : v4) r.ips.push_back(std::move(ip));
  for (auto& ip : v6) r.ips.push_back(std::move(ip));
  if (result.contains("dns") && result["dns"].is_object()) {
    Strings(result["dns"], "nameservers", r.dns_servers);
    Strings(result["dns"], "search", r.dns_searches);
    Strings(result["dns"], "options", r.dns_options);
  }
  return r;
}

int ErrorCode(const std::string& out) {
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_object() && j.contains("code") && j["code"].is_number_integer()) {
    return j["code"].get<int>();
  }
  return 0;
}

std::string DescribeFailure(const std::string& plugin, const std::string& command, int exit_code,
                            const std::string& out, const std::string& err) {
  std::string what = "CNI plugin \"" + plugin + "\" " + command + " failed: ";
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_object() && (j.contains("msg") || j.contains("code"))) {
    std::string msg = Str(j, "msg");
    if (j.contains("code") && j["code"].is_number_integer()) {
      msg = "code " + std::to_string(j["code"].get<int>()) + (msg.empty() ? "" : ": " + msg);
    }
    std::string details = Str(j, "details");
    if (!details.empty()) msg += " (" + details + ")";
    return what + msg;
  }
  std::string e = Trim(err);
  if (!e.empty()) return what + e;
  std::string o = Trim(out);
  if (!o.empty()) return what + o.substr(0, 2048);
  return what + "exit status " + std::to_string(exit_code);
}

}  // namespace berth::cni
