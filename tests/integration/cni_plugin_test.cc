// The `cni` network plugin with Debian's real CNI plugins (bridge, host-local, portmap,
// loopback): Setup/Teardown, pod-to-pod traffic, hostPort, idempotency, restart, concurrency.
// hostPort is checked from the host at the test bridge's gateway IP (portmap's OUTPUT DNAT
// for local destinations), and also on 127.0.0.1 (portmap sets route_localnet on the bridge and
// masquerades that case itself): both are the host's own addresses, nothing else is targeted.
#include <thread>

#include "tests/integration/cni_fixture.h"

namespace berth::cni::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST_F(CniTest, SetupConnectsThePodAndTeardownFreesEverything) {
  WriteConf("10-test.conflist", {BridgePlugin(), PortmapPlugin()});
  StartHost();
  std::string ns = NewNetns("a"), pod = PodId("a");
  pv1::SetupNetworkResponse resp;
  Status s = Setup(SetupRequest(pod, ns), &resp);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(resp.ips_size(), 1);
  EXPECT_EQ(resp.ips(0).interface(), "eth0");
  EXPECT_THAT(resp.ips(0).address(), StartsWith(prefix_));
  EXPECT_THAT(resp.ips(0).address(), ::testing::EndsWith("/24"));
  EXPECT_EQ(resp.ips(0).gateway(), prefix_ + "1");
  std::string ip = Ip(resp.ips(0).address());

  EXPECT_THAT(Out("ip netns exec " + ns + " ip -o -4 addr show dev eth0"),
              HasSubstr(resp.ips(0).address()));
  EXPECT_THAT(Out("ip netns exec " + ns + " ip -o link show lo"), HasSubstr("UP"));
  EXPECT_THAT(Out("ip netns exec " + ns + " ip -o -4 addr show dev lo"), HasSubstr("127.0.0.1"));
  EXPECT_TRUE(Exists(IpamFile(ip)));
  EXPECT_TRUE(Exists(CacheRecord(pod)));
  EXPECT_FALSE(BridgePorts().empty());
  // The gateway answers, from inside the pod.
  EXPECT_EQ(Sh("ip netns exec " + ns + " busybox ping -c1 -W2 " + prefix_ + "1 >/dev/null"), 0);

  // Setup again: same answer, nothing new allocated.
  pv1::SetupNetworkResponse again;
  ASSERT_TRUE(Setup(SetupRequest(pod, ns), &again).ok());
  EXPECT_EQ(again.ips(0).address(), resp.ips(0).address());
  EXPECT_EQ(Out("ls " + data_dir_ + "/" + network_ + " | grep -c '^10\\.'"), "1\n");

  s = Teardown(pod, ns);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(BridgePorts(), "");
  EXPECT_NE(Sh("ip netns exec " + ns + " ip link show eth0 >/dev/null 2>&1"), 0);
  EXPECT_FALSE(Exists(IpamFile(ip)));
  EXPECT_FALSE(Exists(CacheRecord(pod)));
  // Idempotent.
  s = Teardown(pod, ns);
  EXPECT_TRUE(s.ok()) << s.ToString();
  s = Teardown(pod, "");
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(CniTest, PodsReachEachOtherAndHostPortWorks) {
  WriteConf("10-test.conflist", {BridgePlugin(), PortmapPlugin()});
  StartHost();
  std::string nsa = NewNetns("a"), nsb = NewNetns("b");
  std::string poda = PodId("a"), podb = PodId("b");
  const int host_port = 20000 + getpid() % 20000;
  pv1::SetupNetworkRequest reqa = SetupRequest(poda, nsa);
  pv1::PortMapping* pm = reqa.add_port_mappings();
  pm->set_protocol("TCP");
  pm->set_container_port(8080);
  pm->set_host_port(host_port);
  pv1::SetupNetworkResponse ra, rb;
  Status s = Setup(reqa, &ra);
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = Setup(SetupRequest(podb, nsb), &rb);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::string ipa = Ip(ra.ips(0).address()), ipb = Ip(rb.ips(0).address());
  ASSERT_NE(ipa, ipb);

  EXPECT_EQ(Sh("ip netns exec " + nsb + " busybox ping -c1 -W2 " + ipa + " >/dev/null"), 0);
  EXPECT_EQ(Sh("ip netns exec " + nsa + " busybox ping -c1 -W2 " + ipb + " >/dev/null"), 0);

  // An HTTP server in pod a on 8080, reached through the hostPort.
  std::string www = *tmp_ / "www";
  ASSERT_TRUE(MakeDirs(www, 0755).ok());
  ASSERT_TRUE(AtomicWriteFile(www + "/index.html", "hello from " + poda + "\n").ok());
  Spawn({"ip", "netns", "exec", nsa, "busybox", "httpd", "-f", "-p", "8080", "-h", www});
  std::string want = "hello from " + poda + "\n", got;
  for (int i = 0; i < 50 && got.empty(); ++i) {
    got = HttpGet(nsb, ipa, 8080, "/index.html");
    if (got.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(got, want) << "pod b cannot reach pod a's server";
  EXPECT_EQ(HttpGet("", prefix_ + "1", host_port, "/index.html"), want)
      << "hostPort via the bridge IP";
  EXPECT_EQ(HttpGet("", "127.0.0.1", host_port, "/index.html"), want) << "hostPort via loopback";
  EXPECT_EQ(HttpGet(nsb, prefix_ + "1", host_port, "/index.html"), want) << "hostPort from pod b";
  EXPECT_THAT(Out("iptables-save -t nat"), HasSubstr(poda));

  ASSERT_TRUE(Teardown(poda, nsa).ok());
  ASSERT_TRUE(Teardown(podb, nsb).ok());
  EXPECT_EQ(Out("iptables-save -t nat | grep -c -e " + poda + " -e " + podb), "0\n")
      << "portmap rules left behind";
  EXPECT_EQ(HttpGet("", prefix_ + "1", host_port, "/index.html", 1), "");
  EXPECT_FALSE(Exists(IpamFile(ipa)));
  EXPECT_FALSE(Exists(IpamFile(ipb)));
  EXPECT_EQ(BridgePorts(), "");
}

// bandwidth runtime config reaches the real `bandwidth` plugin (a tbf qdisc on the host veth
// for ingress, an ifb device for egress), and DEL removes the ifb again.
TEST_F(CniTest, BandwidthCapability) {
  WriteConf("10-test.conflist", {BridgePlugin(),
                                 PortmapPlugin(),
                                 {{"type", "bandwidth"}, {"capabilities", {{"bandwidth", true}}}}});
  StartHost();
  std::string ns = NewNetns("a"), pod = PodId("a");
  pv1::SetupNetworkRequest req = SetupRequest(pod, ns);
  req.set_bandwidth_ingress("1M");
  req.set_bandwidth_egress("2M");
  pv1::SetupNetworkResponse resp;
  Status s = Setup(req, &resp);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::string ports = BridgePorts();
  std::string veth = ports.substr(ports.find(": ") + 2);
  veth = veth.substr(0, veth.find('@'));
  EXPECT_THAT(Out("tc qdisc show dev " + veth), HasSubstr("rate 1Mbit"));
  EXPECT_THAT(Out("tc qdisc show"), HasSubstr("rate 2Mbit"));
  ASSERT_TRUE(Teardown(pod, ns).ok());
  EXPECT_THAT(Out("tc qdisc show"), ::testing::Not(HasSubstr("rate 2Mbit")));
}

TEST_F(CniTest, TeardownAfterRestartUsesTheCachedConfig) {
  WriteConf("10-test.conflist", {BridgePlugin(), PortmapPlugin()});
  StartHost();
  std::string ns = NewNetns("a"), pod = PodId("a");
  pv1::SetupNetworkResponse resp;
  ASSERT_TRUE(Setup(SetupRequest(pod, ns), &resp).ok());
  std::string ip = Ip(resp.ips(0).address());
  ASSERT_TRUE(Exists(IpamFile(ip)));

  // berthd restarts, and meanwhile the admin replaced the config with one that would not
  // find this pod's allocation (another network name, hence another host-local directory).
  host_.reset();
  ASSERT_EQ(Sh("rm " + conf_dir_ + "/10-test.conflist"), 0);
  nlohmann::json other = BridgePlugin();
  other["bridge"] = bridge_ + "x";
  ASSERT_TRUE(
      AtomicWriteFile(
          conf_dir_ + "/05-other.conflist",
          nlohmann::json{{"cniVersion", "1.0.0"}, {"name", "other-" + pid_}, {"plugins", {other}}}
              .dump())
          .ok());
  StartHost();
  Status s = Teardown(pod, ns);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(Exists(IpamFile(ip)));
  EXPECT_EQ(BridgePorts(), "");
  EXPECT_FALSE(Exists(CacheRecord(pod)));
  EXPECT_NE(Sh("ip link show " + bridge_ + "x >/dev/null 2>&1"), 0) << "the new config was used";
}

TEST_F(CniTest, ConcurrentSetupsGetDistinctAddresses) {
  WriteConf("10-test.conflist", {BridgePlugin(), PortmapPlugin()});
  StartHost();
  constexpr int kPods = 4;
  std::vector<std::string> ns, pods, ips(kPods);
  for (int i = 0; i < kPods; ++i) {
    ns.push_back(NewNetns("c" + std::to_string(i)));
    pods.push_back(PodId("c" + std::to_string(i)));
  }
  std::vector<Status> st(kPods);
  std::vector<std::thread> threads;
  for (int i = 0; i < kPods; ++i) {
    threads.emplace_back([&, i] {
      pv1::SetupNetworkResponse r;
      st[i] = Setup(SetupRequest(pods[i], ns[i]), &r);
      if (st[i].ok() && r.ips_size() > 0) ips[i] = Ip(r.ips(0).address());
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kPods; ++i) ASSERT_TRUE(st[i].ok()) << st[i].ToString();
  std::sort(ips.begin(), ips.end());
  EXPECT_EQ(std::unique(ips.begin(), ips.end()), ips.end());
  threads.clear();
  for (int i = 0; i < kPods; ++i)
    threads.emplace_back([&, i] { st[i] = Teardown(pods[i], ns[i]); });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kPods; ++i) EXPECT_TRUE(st[i].ok()) << st[i].ToString();
  EXPECT_EQ(BridgePorts(), "");
  EXPECT_EQ(Out("ls " + data_dir_ + "/" + network_ + " | grep -c '^10\\.'"), "0\n");
}

}  // namespace
}  // namespace berth::cni::testing
