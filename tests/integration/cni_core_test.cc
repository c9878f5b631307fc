// berth_cni_core without root or network: plugin config keys, conflist parsing and version
// choice, result/error parsing, the per-plugin stdin, the attachment cache, plugin execution.
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/fs.h"
#include "plugins/network/cni/cni_cache.h"
#include "plugins/network/cni/cni_config.h"
#include "plugins/network/cni/cni_exec.h"
#include "plugins/network/cni/cni_result.h"
#include "plugins/network/cni/cni_runner.h"
#include "tests/support/test_env.h"

namespace berth::cni {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

TEST(CniPluginConfig, DefaultsAndErrors) {
  Result<PluginConfig> c = ParsePluginConfig("{}");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->conf_dir, "/etc/cni/net.d");
  EXPECT_EQ(c->bin_dirs, (std::vector<std::string>{"/opt/cni/bin", "/usr/lib/cni"}));
  EXPECT_EQ(c->interface, "eth0");
  EXPECT_THAT(ParsePluginConfig(R"({"confdir":"/x"})").status().message(), HasSubstr("confdir"));
  EXPECT_FALSE(ParsePluginConfig(R"({"conf_dir":"rel"})").ok());
  EXPECT_FALSE(ParsePluginConfig(R"({"interface":"a/b"})").ok());
  EXPECT_FALSE(ParsePluginConfig(R"({"interface":"sixteen-chars-xx"})").ok());
  EXPECT_FALSE(ParsePluginConfig(R"({"bin_dirs":"/opt"})").ok());
}

TEST(CniNetworkList, ParsesListsAndSingleConfs) {
  Result<NetworkList> l = ParseNetworkFile(
      R"({"cniVersion":"0.4.0","name":"n","plugins":[{"type":"bridge"},{"type":"portmap"}]})",
      "/d/10.conflist");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->plugins.size(), 2u);
  l = ParseNetworkFile(R"({"cniVersion":"1.0.0","name":"n","type":"bridge","bridge":"b"})",
                       "/d/x.conf");
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->plugins.size(), 1u);
  EXPECT_EQ(l->plugins[0]["bridge"], "b");
  // cniVersions: the highest known wins.
  l = ParseNetworkFile(
      R"({"cniVersion":"1.0.0","cniVersions":["1.0.0","1.1.0","9.9.9"],"name":"n","plugins":[{"type":"x"}]})",
      "/d/a.conflist");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->cni_version, "1.1.0");
  EXPECT_FALSE(
      ParseNetworkFile(R"({"cniVersion":"1.0.0","name":"n","plugins":[]})", "/d/a.conflist").ok());
  EXPECT_FALSE(
      ParseNetworkFile(R"({"cniVersion":"1.0.0","plugins":[{"type":"x"}]})", "/d/a.conflist").ok());
  EXPECT_FALSE(ParseNetworkFile(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../x"}]})",
                                "/d/a.conflist")
                   .ok());
  EXPECT_FALSE(ParseNetworkFile(R"({"cniVersion":"7.0.0","name":"n","plugins":[{"type":"x"}]})",
                                "/d/a.conflist")
                   .ok());
  EXPECT_LT(CompareVersions("0.4.0", "1.0.0"), 0);
  EXPECT_GT(CompareVersions("1.1.0", "1.0.0"), 0);
  EXPECT_EQ(CompareVersions("1.0.0", "1.0.0"), 0);
}

TEST(CniConfigWatcher, FirstValidByNameAndReloads) {
  ::berth::testing::TempDir dir;
  ConfigWatcher w(dir.path());
  EXPECT_THAT(w.Current().status().message(), HasSubstr(dir.path()));
  ASSERT_TRUE(AtomicWriteFile(dir / "05-bad.conflist", "{").ok());
  ASSERT_TRUE(AtomicWriteFile(dir / "20-b.conflist",
                              R"({"cniVersion":"1.0.0","name":"b","plugins":[{"type":"x"}]})")
                  .ok());
  ASSERT_TRUE(AtomicWriteFile(dir / "ignored.txt", "{}").ok());
  Result<NetworkList> l = w.Current();
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->name, "b");
  ASSERT_TRUE(
      AtomicWriteFile(dir / "10-a.conf", R"({"cniVersion":"1.0.0","name":"a","type":"x"})").ok());
  EXPECT_EQ(w.Current()->name, "a");
  // An in-place fix of the earlier broken file (no rename, the directory does not change).
  {
    std::ofstream f(dir / "05-bad.conflist", std::ios::trunc);
    f << R"({"cniVersion":"1.0.0","name":"fixed","plugins":[{"type":"x"}]})";
  }
  EXPECT_EQ(w.Current()->name, "fixed");
}

TEST(CniResult, PodInterfaceIpsFirstV4AndDns) {
  json r = json::parse(R"({"cniVersion":"1.0.0",
    "interfaces":[{"name":"cni0"},{"name":"veth1"},{"name":"eth0","sandbox":"/run/netns/x"}],
    "ips":[{"address":"fd00::5/64","interface":2},{"address":"10.0.0.1/24","interface":0},
           {"address":"10.0.0.5/24","gateway":"10.0.0.1","interface":2}],
    "dns":{"nameservers":["1.1.1.1"],"search":["a.b"],"options":["ndots:5"]}})");
  ParsedResult p = ParseResult(r, "eth0");
  ASSERT_EQ(p.ips.size(), 2u);
  EXPECT_EQ(p.ips[0].address, "10.0.0.5/24");
  EXPECT_EQ(p.ips[0].gateway, "10.0.0.1");
  EXPECT_EQ(p.ips[1].address, "fd00::5/64");
  EXPECT_EQ(p.dns_servers, std::vector<std::string>{"1.1.1.1"});
  EXPECT_EQ(p.dns_searches, std::vector<std::string>{"a.b"});
  EXPECT_EQ(ParseResult(json::parse(R"({"ip4":{"ip":"10.1.0.2/16"}})"), "eth0").ips[0].address,
            "10.1.0.2/16");
  EXPECT_TRUE(ParseResult(json("junk"), "eth0").ips.empty());
  EXPECT_EQ(DescribeFailure("bridge", "ADD", 1, R"({"code":11,"msg":"busy","details":"d"})", ""),
            "CNI plugin \"bridge\" ADD failed: code 11: busy (d)");
  EXPECT_EQ(DescribeFailure("x", "DEL", 2, "", "oops\n"), "CNI plugin \"x\" DEL failed: oops");
  EXPECT_EQ(ErrorCode(R"({"code":50})"), 50);
}

TEST(CniRunner, PluginStdinCarriesNameVersionPrevResultAndDeclaredCapabilities) {
  NetworkList l;
  l.name = "net";
  l.cni_version = "1.0.0";
  json plugin = {{"type", "portmap"},
                 {"capabilities", {{"portMappings", true}, {"bandwidth", false}}}};
  json caps = {{"portMappings", json::array({{{"hostPort", 80}}})},
               {"bandwidth", {{"ingressRate", 1}}},
               {"dns", json::object()}};
  json in = Runner::PluginStdin(l, plugin, caps, {{"ips", json::array()}});
  EXPECT_EQ(in["name"], "net");
  EXPECT_EQ(in["cniVersion"], "1.0.0");
  EXPECT_TRUE(in.contains("prevResult"));
  ASSERT_TRUE(in.contains("runtimeConfig"));
  EXPECT_EQ(in["runtimeConfig"].size(), 1u);
  EXPECT_EQ(in["runtimeConfig"]["portMappings"][0]["hostPort"], 80);
  EXPECT_FALSE(
      Runner::PluginStdin(l, {{"type", "bridge"}}, caps, nullptr).contains("runtimeConfig"));
}

TEST(CniCache, SaveLoadListRemove) {
  ::berth::testing::TempDir dir;
  AttachmentCache cache(dir.path());
  ASSERT_TRUE(cache.Init().ok());
  Attachment a;
  a.pod_id = "pod-1";
  a.netns = "/run/netns/x";
  a.ifname = "eth0";
  a.cni_args = {{"K8S_POD_NAME", "p"}};
  a.network = {{"name", "n"}};
  a.result = {{"ips", json::array()}};
  a.complete = true;
  ASSERT_TRUE(cache.Save(a).ok());
  EXPECT_EQ(cache.List(), std::vector<std::string>{"pod-1"});
  Result<Attachment> b = cache.Load("pod-1");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->ToJson(), a.ToJson());
  EXPECT_EQ(cache.Load("pod-2").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(cache.Load("../x").status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(cache.Remove("pod-1").ok());
  ASSERT_TRUE(cache.Remove("pod-1").ok());
  EXPECT_TRUE(cache.List().empty());
}

TEST(CniExec, StdinStdoutExitCodeTimeoutAndNoLeakedFds) {
  ::berth::testing::TempDir dir;
  std::string big(1 << 20, 'x');  // larger than a pipe/socket buffer
  ASSERT_TRUE(AtomicWriteFile(dir / "p",
                              "#!/bin/sh\nwc -c\nls /proc/self/fd | wc -l >&2\n"
                              "echo \"$CNI_COMMAND\" >&2\nexit 3\n",
                              0755)
                  .ok());
  Result<ExecResult> r = ExecPlugin(dir / "p", {"CNI_COMMAND=ADD", "PATH=/usr/bin:/bin"}, big,
                                    std::chrono::seconds(10));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, std::to_string(big.size()) + "\n");
  // ls sees 0, 1, 2 and its own directory fd: nothing inherited.
  EXPECT_EQ(r->err, "4\nADD\n");
  ASSERT_TRUE(AtomicWriteFile(dir / "slow", "#!/bin/sh\nexec sleep 30\n", 0755).ok());
  r = ExecPlugin(dir / "slow", {"PATH=/usr/bin:/bin"}, "", std::chrono::milliseconds(300));
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  // A plugin that does not read its stdin does not hurt us (no SIGPIPE).
  ASSERT_TRUE(AtomicWriteFile(dir / "deaf", "#!/bin/sh\nexit 0\n", 0755).ok());
  r = ExecPlugin(dir / "deaf", {}, big, std::chrono::seconds(10));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(FindPluginBinary("p", {"/nonexistent", dir.path()}).value(), dir / "p");
  EXPECT_EQ(FindPluginBinary("nope", {dir.path()}).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(FindPluginBinary("../p", {dir.path()}).ok());
}

}  // namespace
}  // namespace berth::cni
