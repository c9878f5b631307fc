// The real berthctl against a real berthd running real pods and containers (root): runp, pods,
// inspectp, create, start, ps, inspect, logs, exec -s, update, stats, statsp, stop, rm, stopp,
// rmp, run — each checked against what crictl prints for the same CRI answers. The pods use the
// host network (namespace_options.network = NODE) so that no CNI setup is involved; the busybox
// test image of scripts/make-test-images is imported with `berthctl image import`.

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "tests/support/berthd_process.h"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

constexpr char kImage[] = "localhost/berthctl-test/busybox:1";

// The test images, built once per binary.
class TestImages {
 public:
  static TestImages& Get() {
    static TestImages* images = new TestImages();  // test-only; intentionally leaked
    return *images;
  }
  bool ok() const { return result_.exit_code == 0; }
  std::string error() const { return result_.out + result_.err; }
  std::string Layout(const std::string& name) const { return dir_.path() + "/" + name; }

 private:
  TestImages() : result_(RunCommand({BERTH_MAKE_TEST_IMAGES, dir_.path()}, 300000)) {}
  TempDir dir_;
  CommandResult result_;
};

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class BerthctlPodsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    ASSERT_TRUE(TestImages::Get().ok()) << TestImages::Get().error();
    config_ = dir_ / "crictl.yaml";
    std::ofstream(config_) << "";
    ASSERT_TRUE(MakeDirs(dir_ / "logs", 0755).ok());
    ASSERT_TRUE(daemon_.Start()) << daemon_.Stderr();
    CommandResult imported =
        Berthctl({"image", "import", TestImages::Get().Layout("busybox"), "--name", kImage});
    ASSERT_EQ(imported.exit_code, 0) << imported.err << "\n" << daemon_.Stderr();
    // The pods share a PID namespace (crictl's default), so they run berthd's sandbox image.
    imported =
        Berthctl({"image", "import", TestImages::Get().Layout("pause"), "--name", kTestPauseImage});
    ASSERT_EQ(imported.exit_code, 0) << imported.err << "\n" << daemon_.Stderr();

    // crictl's pod-config.json shape, host network.
    pod_config_ = dir_ / "pod.json";
    std::ofstream(pod_config_) << nlohmann::json{
        {"metadata", {{"name", "berthctl-pod"}, {"namespace", "berthctl-test"}, {"attempt", 1}}},
        {"log_directory", dir_ / "logs"},
        {"labels", {{"app", "berthctl"}}},
        {"linux",
         {{"security_context",
           {{"namespace_options",
             {{"network", 2}}}}}}}}.dump(2);
    // crictl's container-config, in YAML.
    container_config_ = dir_ / "container.yaml";
    std::ofstream(container_config_)
        << "metadata:\n"
           "  name: ticker\n"
           "image:\n"
           "  image: "
        << kImage
        << "\n"
           "command:\n"
           "- /bin/sh\n"
           "- -c\n"
           "- \"echo hello; echo oops >&2; i=0; while true; do i=$((i+1)); echo tick $i; "
           "sleep 1; done\"\n"
           "log_path: ticker.log\n"
           "labels:\n"
           "  role: ticker\n";
  }

  void TearDown() override {
    if (!config_.empty()) Berthctl({"rmp", "-a", "-f"});  // nothing may outlive the test
  }

  CommandResult Berthctl(std::vector<std::string> args, int timeout_ms = 120000) {
    std::vector<std::string> argv = {BERTHCTL_PATH,      "-c", config_, "-r",
                                     daemon_.endpoint(), "-t", "30s"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, timeout_ms);
  }

  // Runs berthctl and expects success; its stdout.
  std::string Ok(std::vector<std::string> args) {
    CommandResult r = Berthctl(args);
    EXPECT_EQ(r.exit_code, 0) << "berthctl " << ::testing::PrintToString(args) << ": " << r.err
                              << "\n"
                              << daemon_.Stderr();
    return r.out;
  }

  nlohmann::json Json(std::vector<std::string> args) {
    std::string out = Ok(args);
    auto j = nlohmann::json::parse(out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << out;
    return j;
  }

  // Waits until `pred(logs)` holds for the container's log (up to 15 s).
  std::string WaitForLogs(const std::string& id,
                          const std::function<bool(const std::string&)>& pred) {
    std::string out;
    for (int i = 0; i < 150; ++i) {
      out = Berthctl({"logs", id}).out;
      if (pred(out)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return out;
  }

  TempDir dir_;
  std::string config_, pod_config_, container_config_;
  BerthdProcess daemon_{{"--sandbox-image", kTestPauseImage}, BERTH_PLUGIN_BUILD_DIR};
};

TEST_F(BerthctlPodsTest, PodAndContainerLifecycle) {
  // runp prints the new pod's id.
  const std::string pod = Trim(Ok({"runp", pod_config_}));
  ASSERT_THAT(pod, MatchesRegex("[0-9a-f]+")) << daemon_.Stderr();
  const std::string pod_prefix = pod.substr(0, 8);

  auto table = SplitLines(Ok({"pods"}));
  ASSERT_EQ(table.size(), 2u);
  EXPECT_THAT(table[0], MatchesRegex("POD ID +CREATED +STATE +NAME +NAMESPACE +ATTEMPT +RUNTIME"));
  EXPECT_THAT(table[1], MatchesRegex(pod.substr(0, 13) +
                                     " +.* ago +Ready +berthctl-pod +berthctl-test +1 +.*"));
  EXPECT_EQ(Ok({"pods", "-q"}), pod + "\n");
  EXPECT_EQ(Ok({"pods", "-q", "--name", "^nomatch$"}), "");
  EXPECT_EQ(Ok({"pods", "-q", "--label", "app=berthctl", "--state", "ready"}), pod + "\n");
  EXPECT_EQ(Ok({"pods", "-q", "--id", pod_prefix}), pod + "\n") << "ID prefixes resolve";
  auto list = Json({"pods", "-o", "json"});
  ASSERT_EQ(list["items"].size(), 1u);
  EXPECT_EQ(list["items"][0]["id"], pod);
  EXPECT_EQ(list["items"][0]["state"], "SANDBOX_READY");
  EXPECT_THAT(Ok({"pods", "-o", "yaml"}), StartsWith("items:\n- annotations:"));

  auto inspectp = Json({"inspectp", pod_prefix});
  EXPECT_EQ(inspectp["status"]["id"], pod);
  EXPECT_EQ(inspectp["status"]["metadata"]["name"], "berthctl-pod");
  EXPECT_TRUE(inspectp["status"]["createdAt"].is_string());
  EXPECT_THAT(Ok({"inspectp", "-o", "table", "-q", pod}),
              StartsWith("ID: " + pod + "\nName: berthctl-pod\n"));

  // create + start.
  const std::string ctr =
      Trim(Ok({"create", "--no-pull", pod_prefix, container_config_, pod_config_}));
  ASSERT_THAT(ctr, MatchesRegex("[0-9a-f]+"));
  EXPECT_EQ(Ok({"ps", "-q"}), "") << "ps lists running containers only";
  auto all = SplitLines(Ok({"ps", "-a"}));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_THAT(
      all[0],
      MatchesRegex("CONTAINER +IMAGE +CREATED +STATE +NAME +ATTEMPT +POD ID +POD +NAMESPACE"));
  EXPECT_THAT(all[1], MatchesRegex(ctr.substr(0, 13) + " +.* +Created +ticker +0 +" +
                                   pod.substr(0, 13) + " .*"));
  EXPECT_EQ(Ok({"start", ctr.substr(0, 10)}), ctr.substr(0, 10) + "\n");
  EXPECT_EQ(Ok({"ps", "-q"}), ctr + "\n");
  EXPECT_EQ(Ok({"ps", "-q", "--pod", pod_prefix, "--name", "tick"}), ctr + "\n");
  EXPECT_EQ(Ok({"ps", "-q", "--label", "role=nobody"}), "");
  auto ps_json = Json({"ps", "-o", "json"});
  ASSERT_EQ(ps_json["containers"].size(), 1u);
  EXPECT_EQ(ps_json["containers"][0]["state"], "CONTAINER_RUNNING");

  // inspect: crictl's {"status": …, "info": …}.
  auto inspect = Json({"inspect", ctr});
  EXPECT_EQ(inspect["status"]["id"], ctr);
  EXPECT_EQ(inspect["status"]["state"], "CONTAINER_RUNNING");
  EXPECT_EQ(inspect["status"]["logPath"], dir_ / "logs/ticker.log");
  EXPECT_NE(inspect["status"]["startedAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(inspect["status"]["finishedAt"], "0001-01-01T00:00:00Z");
  EXPECT_THAT(Ok({"inspect", "-o", "table", "-q", ctr}),
              StartsWith("ID: " + ctr + "\nName: ticker\nState: CONTAINER_RUNNING\n"));

  // logs, read from the CRI log file.
  std::string logs = WaitForLogs(
      ctr, [](const std::string& s) { return s.find("tick 2\n") != std::string::npos; });
  EXPECT_THAT(logs, StartsWith("hello\ntick 1\ntick 2\n"));
  CommandResult streams = Berthctl({"logs", ctr});
  EXPECT_EQ(streams.err, "oops\n");
  CommandResult stdout_only = Berthctl({"logs", "--stream", "stdout", ctr});
  EXPECT_EQ(stdout_only.err, "");
  auto tail = SplitLines(Ok({"logs", "--tail", "1", ctr}));
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_THAT(tail[0], StartsWith("tick "));
  auto stamped = SplitLines(Ok({"logs", "-t", ctr}));
  ASSERT_FALSE(stamped.empty());
  EXPECT_THAT(stamped[0], MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[-+][0-9:]+) hello"));
  EXPECT_EQ(Ok({"logs", "--since", "2030-01-01T00:00:00Z", ctr}), "");

  // exec -s: output on the right streams, the command's exit code as berthctl's.
  CommandResult exec = Berthctl({"exec", "-s", ctr, "sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(exec.exit_code, 3) << exec.err;
  EXPECT_EQ(exec.out, "out\n");
  EXPECT_EQ(exec.err, "err\n");
  CommandResult exec_ok = Berthctl({"exec", "-s", "--timeout", "10", ctr, "cat", "/etc/hostname"});
  EXPECT_EQ(exec_ok.exit_code, 0) << exec_ok.err;
  // Streaming exec (the default; SPDY): the same, through berthd's streaming server.
  CommandResult streaming = Berthctl({"exec", ctr, "sh", "-c", "echo out; echo err >&2; exit 4"});
  EXPECT_EQ(streaming.exit_code, 4) << streaming.err;
  EXPECT_EQ(streaming.out, "out\n");
  EXPECT_EQ(streaming.err, "err\n");

  // update.
  EXPECT_EQ(Ok({"update", "--memory", "268435456", "--cpu-shares", "512", ctr}), ctr + "\n");

  // A running pod is not removed without -f.
  CommandResult busy = Berthctl({"rmp", pod});
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_EQ(busy.err, "berthctl: pod sandbox \"" + pod + "\" is running, please stop it first\n");

  // stop, rm.
  EXPECT_EQ(Ok({"stop", "-t", "2", ctr}), ctr + "\n");
  auto exited = SplitLines(Ok({"ps", "-a"}));
  ASSERT_EQ(exited.size(), 2u);
  EXPECT_THAT(exited[1], HasSubstr(" Exited "));
  auto stopped = Json({"inspect", ctr});
  EXPECT_EQ(stopped["status"]["state"], "CONTAINER_EXITED");
  EXPECT_NE(stopped["status"]["finishedAt"], "0001-01-01T00:00:00Z");
  // Following the log of a stopped container ends by itself.
  CommandResult follow = Berthctl({"logs", "-f", ctr}, 20000);
  EXPECT_EQ(follow.exit_code, 0) << follow.err;
  EXPECT_THAT(follow.out, StartsWith("hello\n"));
  EXPECT_EQ(Ok({"rm", ctr}), ctr + "\n");
  struct stat st {};
  EXPECT_NE(::stat((dir_ / "logs/ticker.log").c_str(), &st), 0) << "rm removes the log file";
  EXPECT_EQ(Ok({"ps", "-a", "-q"}), "");

  // stopp, rmp.
  EXPECT_EQ(Ok({"stopp", pod_prefix}), "Stopped sandbox " + pod_prefix + "\n");
  EXPECT_EQ(Json({"inspectp", pod})["status"]["state"], "SANDBOX_NOTREADY");
  EXPECT_EQ(Ok({"rmp", pod}), "Removed sandbox " + pod + "\n");
  EXPECT_EQ(Ok({"pods", "-q"}), "");
}

TEST_F(BerthctlPodsTest, RunThenRemoveEverything) {
  // run = runp + create + start; it prints the container id.
  const std::string ctr = Trim(Ok({"run", "--no-pull", container_config_, pod_config_}));
  ASSERT_THAT(ctr, MatchesRegex("[0-9a-f]+")) << daemon_.Stderr();
  EXPECT_EQ(Ok({"ps", "-q"}), ctr + "\n");
  const std::string pod = Trim(Ok({"pods", "-q"}));
  auto inspect = Json({"inspect", ctr});
  EXPECT_EQ(inspect["status"]["state"], "CONTAINER_RUNNING");

  CommandResult rm = Berthctl({"rm", ctr});
  EXPECT_EQ(rm.exit_code, 1);
  EXPECT_EQ(rm.err, "berthctl: container \"" + ctr + "\" is running, please stop it first\n");

  // rmp -a -f stops and removes the pod, and with it its container.
  CommandResult rmp = Berthctl({"rmp", "-a", "-f"});
  EXPECT_EQ(rmp.exit_code, 0) << rmp.err;
  EXPECT_EQ(rmp.out, "Stopped sandbox " + pod + "\nRemoved sandbox " + pod + "\n");
  EXPECT_EQ(Ok({"pods", "-q"}), "");
  EXPECT_EQ(Ok({"ps", "-a", "-q"}), "");
  CommandResult none = Berthctl({"rmp", "-a"});
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_EQ(none.err, "No pods to remove\n");
}

TEST_F(BerthctlPodsTest, Stats) {
  const std::string ctr = Trim(Ok({"run", "--no-pull", container_config_, pod_config_}));
  ASSERT_FALSE(ctr.empty());
  const std::string pod = Trim(Ok({"pods", "-q"}));
  WaitForLogs(ctr, [](const std::string& s) { return s.find("tick 1\n") != std::string::npos; });

  auto stats = Json({"stats", "-o", "json"});
  ASSERT_EQ(stats["stats"].size(), 1u) << stats.dump();
  EXPECT_EQ(stats["stats"][0]["attributes"]["id"], ctr);
  auto table = SplitLines(Ok({"stats", "-s", "1"}));
  ASSERT_EQ(table.size(), 2u);
  EXPECT_THAT(table[0], MatchesRegex("CONTAINER +NAME +CPU % +MEM +DISK +INODES +SWAP"));
  EXPECT_THAT(table[1], MatchesRegex(ctr.substr(0, 13) + " +ticker +[0-9]+\\.[0-9]{2} +.*"));

  auto podstats = Json({"statsp", "-o", "json", pod.substr(0, 6)});
  ASSERT_EQ(podstats["stats"].size(), 1u) << podstats.dump();
  EXPECT_EQ(podstats["stats"][0]["attributes"]["id"], pod);
  auto ptable = SplitLines(Ok({"statsp"}));
  ASSERT_GE(ptable.size(), 1u);
  EXPECT_THAT(ptable[0], MatchesRegex("POD +POD ID +CPU % +MEM"));
}

}  // namespace
}  // namespace berth::testing
