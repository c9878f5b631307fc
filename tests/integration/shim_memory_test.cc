// The shim's memory ceiling (issue 4): with 10 running containers (native plugin, output
// flowing), each berth-shim stays within 1 MiB Pss and 2 MiB Rss (/proc/<pid>/smaps_rollup).
#include "tests/integration/runtime_plugin_fixture.h"

namespace berth::native::testing {
namespace {

class ShimMemoryTest : public RuntimePluginFixture {
 protected:
  ShimMemoryTest() : RuntimePluginFixture({"native", "native", ""}) {}
};

TEST_F(ShimMemoryTest, TenShimsStayUnderTheCeiling) {
  if (!std::string(BERTH_SANITIZE_FLAGS).empty()) {
    GTEST_SKIP() << "sanitizer build (" << BERTH_SANITIZE_FLAGS
                 << "): the sanitizer runtime inflates every shim's memory; the ceiling is "
                    "checked in non-sanitized builds";
  }
  constexpr int kShims = 10;
  std::vector<std::string> pids;
  for (int i = 0; i < kShims; ++i) {
    std::string id = "mem" + std::to_string(i);
    nlohmann::json spec = DefaultSpec({"sh", "-c", "while true; do echo tick; sleep 0.05; done"});
    spec["linux"]["cgroupsPath"] = cgroup_path_ + "-" + std::to_string(i);
    Create(id, spec, state_->path() + "/" + id + ".log");
    ASSERT_TRUE(Start(id).ok());
    pids.push_back(ShimPid(TaskDir(id)));
  }
  // Every shim has served requests (create, start, state, exec, stats) and written output.
  for (int i = 0; i < kShims; ++i) {
    std::string id = "mem" + std::to_string(i);
    pv1::ExecProcessResponse r;
    ASSERT_TRUE(ExecSync(id, "x", {"echo", "hi"}, &r).ok());
    pv1::TaskStatsRequest sreq;
    sreq.set_id(id);
    ASSERT_TRUE(Call("Stats", sreq).ok());
    State(id);
  }
  std::this_thread::sleep_for(500ms);
  long max_pss = 0, max_rss = 0;
  for (int i = 0; i < kShims; ++i) {
    auto [pss, rss] = PssRssKb(pids[i]);
    printf("shim %d (pid %s): Pss %ld KiB, Rss %ld KiB\n", i, pids[i].c_str(), pss, rss);
    EXPECT_GT(pss, 0);
    EXPECT_LE(pss, 1024) << "Pss of shim " << pids[i];
    EXPECT_LE(rss, 2048) << "Rss of shim " << pids[i];
    max_pss = std::max(max_pss, pss);
    max_rss = std::max(max_rss, rss);
  }
  printf("shim memory: max Pss %ld KiB (ceiling 1024), max Rss %ld KiB (ceiling 2048)\n", max_pss,
         max_rss);
  for (int i = 0; i < kShims; ++i) Finish("mem" + std::to_string(i));
}

}  // namespace
}  // namespace berth::native::testing
