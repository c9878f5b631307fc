// The `cni` network plugin's failure paths and housekeeping: a chain failing in the middle
// leaves nothing behind, GC frees pods that are no longer valid, Status reasons, the CNI 1.1
// GC/STATUS verbs (with a small script plugin that records how it was called), bad input.
#include "tests/integration/cni_fixture.h"

namespace berth::cni::testing {
namespace {

using ::testing::HasSubstr;

TEST_F(CniTest, FailureInTheMiddleOfTheChainLeavesNothing) {
  std::string log = *tmp_ / "fail.log";
  WriteScript("berth-test-fail",
              "cat >/dev/null\necho \"$CNI_COMMAND\" >> " + log +
                  "\n"
                  "if [ \"$CNI_COMMAND\" = ADD ]; then\n"
                  "  echo '{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"injected "
                  "failure\",\"details\":\"by the test\"}'\n"
                  "  exit 1\nfi\nexit 0\n");
  WriteConf("10-test.conflist",
            {BridgePlugin(), nlohmann::json{{"type", "berth-test-fail"}}, PortmapPlugin()});
  StartHost();
  std::string ns = NewNetns("a"), pod = PodId("a");
  pv1::SetupNetworkResponse resp;
  Status s = Setup(SetupRequest(pod, ns), &resp);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("berth-test-fail"));
  EXPECT_THAT(s.message(), HasSubstr("injected failure"));
  EXPECT_THAT(s.message(), HasSubstr("by the test"));
  EXPECT_EQ(BridgePorts(), "") << "veth left behind";
  EXPECT_NE(Sh("ip netns exec " + ns + " ip link show eth0 >/dev/null 2>&1"), 0);
  EXPECT_EQ(Out("ls " + data_dir_ + "/" + network_ + " 2>/dev/null | grep -c '^10\\.'"), "0\n")
      << "IP allocation left behind";
  EXPECT_FALSE(Exists(CacheRecord(pod)));
  EXPECT_EQ(Out("cat " + log), "ADD\nDEL\n");  // the failed plugin was asked to clean up too
  EXPECT_EQ(Out("iptables-save -t nat | grep -c " + pod), "0\n");
}

TEST_F(CniTest, GcFreesPodsNotInTheValidList) {
  WriteConf("10-test.conflist", {BridgePlugin(), PortmapPlugin()});
  StartHost();
  std::string nsa = NewNetns("a"), nsb = NewNetns("b");
  std::string poda = PodId("a"), podb = PodId("b");
  pv1::SetupNetworkResponse ra, rb;
  ASSERT_TRUE(Setup(SetupRequest(poda, nsa), &ra).ok());
  ASSERT_TRUE(Setup(SetupRequest(podb, nsb), &rb).ok());
  // berthd restarts, knowing only pod a (pod b's sandbox was lost in a crash).
  StartHost();
  pv1::NetworkGCRequest req;
  req.add_valid_pod_ids(poda);
  pv1::NetworkGCResponse resp;
  Status s = cni_->Invoke("GC", req, &resp);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(resp.removed_pod_ids_size(), 1);
  EXPECT_EQ(resp.removed_pod_ids(0), podb);
  EXPECT_FALSE(Exists(IpamFile(Ip(rb.ips(0).address()))));
  EXPECT_TRUE(Exists(IpamFile(Ip(ra.ips(0).address()))));
  EXPECT_NE(Sh("ip netns exec " + nsb + " ip link show eth0 >/dev/null 2>&1"), 0);
  EXPECT_EQ(Sh("ip netns exec " + nsa + " ip link show eth0 >/dev/null 2>&1"), 0);
  EXPECT_FALSE(Exists(CacheRecord(podb)));
  ASSERT_TRUE(Teardown(poda, nsa).ok());
  EXPECT_FALSE(Exists(IpamFile(Ip(ra.ips(0).address()))));
}

// berthd died after the chain's ADD but before the record was completed: the record written
// before ADD is enough for a repeated Setup and for GC to free what ADD made.
TEST_F(CniTest, CrashMidSetupIsUndone) {
  WriteConf("10-test.conflist", {BridgePlugin(), PortmapPlugin()});
  StartHost();
  std::string ns = NewNetns("a"), pod = PodId("a");
  pv1::SetupNetworkResponse first;
  ASSERT_TRUE(Setup(SetupRequest(pod, ns), &first).ok());
  host_.reset();
  auto half_done = [&] {
    nlohmann::json rec = nlohmann::json::parse(*ReadFile(CacheRecord(pod)));
    rec["complete"] = false;
    rec["result"] = nullptr;
    ASSERT_TRUE(AtomicWriteFile(CacheRecord(pod), rec.dump()).ok());
  };
  half_done();
  StartHost();
  pv1::SetupNetworkResponse second;
  Status s = Setup(SetupRequest(pod, ns), &second);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(Exists(IpamFile(Ip(first.ips(0).address()))));  // the old allocation was freed
  EXPECT_TRUE(Exists(IpamFile(Ip(second.ips(0).address()))));
  EXPECT_EQ(Out("ip -o link show master " + bridge_ + " | wc -l"), "1\n");

  host_.reset();
  half_done();
  StartHost();
  pv1::NetworkGCResponse gresp;
  ASSERT_TRUE(cni_->Invoke("GC", pv1::NetworkGCRequest(), &gresp).ok());
  ASSERT_EQ(gresp.removed_pod_ids_size(), 1);
  EXPECT_FALSE(Exists(IpamFile(Ip(second.ips(0).address()))));
  EXPECT_EQ(BridgePorts(), "");
  EXPECT_FALSE(Exists(CacheRecord(pod)));
}

TEST_F(CniTest, StatusSaysWhyItIsNotReady) {
  StartHost();
  pv1::NetworkStatusResponse st = NetStatus();
  EXPECT_FALSE(st.ready());
  EXPECT_EQ(st.reason(), "NetworkPluginNotReady");
  EXPECT_THAT(st.message(), HasSubstr(conf_dir_));

  // Not JSON: skipped, and said so.
  ASSERT_TRUE(AtomicWriteFile(conf_dir_ + "/05-broken.conflist", "{not json").ok());
  st = NetStatus();
  EXPECT_FALSE(st.ready());
  EXPECT_THAT(st.message(), HasSubstr("05-broken.conflist"));
  pv1::SetupNetworkResponse resp;
  std::string ns = NewNetns("a");
  Status s = Setup(SetupRequest(PodId("a"), ns), &resp);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();

  // A config naming a plugin that is not installed.
  nlohmann::json missing = {{"type", "berth-no-such-plugin"}};
  WriteConf("10-test.conflist", {BridgePlugin(), missing});
  st = NetStatus();
  EXPECT_FALSE(st.ready());
  EXPECT_EQ(st.reason(), "NetworkPluginNotReady");
  EXPECT_THAT(st.message(), HasSubstr("berth-no-such-plugin"));
  EXPECT_EQ(Setup(SetupRequest(PodId("a"), ns), &resp).code(), StatusCode::kFailedPrecondition);

  // A single-plugin .conf earlier in name order wins, and is usable.
  nlohmann::json single = BridgePlugin();
  single["cniVersion"] = "0.4.0";
  single["name"] = network_;
  ASSERT_TRUE(AtomicWriteFile(conf_dir_ + "/07-single.conf", single.dump()).ok());
  st = NetStatus();
  EXPECT_TRUE(st.ready()) << st.message();
  s = Setup(SetupRequest(PodId("a"), ns), &resp);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(Exists(IpamFile(Ip(resp.ips(0).address()))));
  ASSERT_TRUE(Teardown(PodId("a"), ns).ok());
  EXPECT_FALSE(Exists(IpamFile(Ip(resp.ips(0).address()))));
}

TEST_F(CniTest, Cni11StatusAndGcVerbs) {
  std::string log = *tmp_ / "v11.log", fail = *tmp_ / "status-fails";
  WriteScript("berth-test-v11",
              "in=$(cat)\nprintf '%s %s %s\\n' \"$CNI_COMMAND\" \"$CNI_CONTAINERID\" \"$in\" >> " +
                  log +
                  "\n"
                  "case \"$CNI_COMMAND\" in\n"
                  "ADD) echo "
                  "'{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"'$"
                  "CNI_NETNS'\"}],"
                  "\"ips\":[{\"address\":\"" +
                  prefix_ +
                  "77/24\",\"interface\":0}],"
                  "\"dns\":{\"nameservers\":[\"" +
                  prefix_ +
                  "53\"]}}' ;;\n"
                  "STATUS) if [ -e " +
                  fail +
                  " ]; then echo '{\"cniVersion\":\"1.1.0\",\"code\":50,"
                  "\"msg\":\"plugin not available\"}'; exit 1; fi ;;\nesac\nexit 0\n");
  WriteConf(
      "10-test.conflist",
      {nlohmann::json{{"type", "berth-test-v11"}, {"capabilities", {{"portMappings", true}}}}},
      "1.1.0");
  StartHost();
  EXPECT_TRUE(NetStatus().ready());
  EXPECT_THAT(Out("cat " + log), HasSubstr("STATUS"));
  ASSERT_TRUE(AtomicWriteFile(fail, "").ok());
  pv1::NetworkStatusResponse st = NetStatus();
  EXPECT_FALSE(st.ready());
  EXPECT_THAT(st.message(), HasSubstr("plugin not available"));
  ASSERT_EQ(Sh("rm " + fail), 0);

  std::string ns = NewNetns("a"), pod = PodId("a");
  pv1::SetupNetworkRequest req = SetupRequest(pod, ns);
  pv1::PortMapping* pm = req.add_port_mappings();
  pm->set_container_port(80);
  pm->set_host_port(8081);
  pv1::SetupNetworkResponse resp;
  Status s = Setup(req, &resp);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(resp.ips_size(), 1);
  EXPECT_EQ(resp.ips(0).address(), prefix_ + "77/24");
  ASSERT_EQ(resp.dns().servers_size(), 1);
  EXPECT_EQ(resp.dns().servers(0), prefix_ + "53");
  std::string calls = Out("cat " + log);
  EXPECT_THAT(calls, HasSubstr("ADD " + pod + " {"));
  EXPECT_THAT(calls, HasSubstr("\"runtimeConfig\":{\"portMappings\":[{\"containerPort\":80,"
                               "\"hostPort\":8081,\"protocol\":\"tcp\"}]}"));

  pv1::NetworkGCRequest gc;
  gc.add_valid_pod_ids(pod);
  pv1::NetworkGCResponse gresp;
  ASSERT_TRUE(cni_->Invoke("GC", gc, &gresp).ok());
  EXPECT_EQ(gresp.removed_pod_ids_size(), 0);
  EXPECT_THAT(Out("cat " + log), HasSubstr("\"cni.dev/valid-attachments\":[{\"containerID\":\"" +
                                           pod + "\",\"ifname\":\"eth0\"}]"));
  ASSERT_TRUE(Teardown(pod, ns).ok());
  // DEL got the cached result as prevResult.
  EXPECT_THAT(Out("grep '^DEL' " + log), HasSubstr("\"prevResult\":{"));
}

TEST_F(CniTest, BadRequestsAreRejected) {
  WriteConf("10-test.conflist", {BridgePlugin()});
  StartHost();
  std::string ns = NewNetns("a");
  pv1::SetupNetworkResponse resp;
  EXPECT_EQ(Setup(SetupRequest("../evil", ns), &resp).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Setup(SetupRequest(PodId("a"), "berthcni-does-not-exist"), &resp).code(),
            StatusCode::kInvalidArgument);
  pv1::SetupNetworkRequest req = SetupRequest(PodId("a"), ns);
  req.mutable_pod()->set_name("a;b=c");
  EXPECT_EQ(Setup(req, &resp).code(), StatusCode::kInvalidArgument);
  req = SetupRequest(PodId("a"), ns);
  req.set_bandwidth_ingress("lots");
  EXPECT_EQ(Setup(req, &resp).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Teardown("", ns).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BridgePorts(), "");
}

TEST_F(CniTest, UnknownConfigKeysFailInit) {
  nlohmann::json cfg = CniConfig();
  cfg["conf_dirs"] = "/etc/cni/net.d";
  host_ = std::make_unique<PluginHost>(Logger(LogLevel::kError), nlohmann::json{{"cni", cfg}},
                                       root_, *tmp_ / "state");
  host_->LoadAll({plugins_dir_});
  EXPECT_EQ(host_->Find(BERTH_PLUGIN_TYPE_NETWORK, "cni"), nullptr);
  ASSERT_EQ(host_->List().size(), 1u);
  EXPECT_THAT(host_->List()[0].error, HasSubstr("conf_dirs"));
}

}  // namespace
}  // namespace berth::cni::testing
