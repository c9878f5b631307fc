// CRI list streaming (CRIListStreaming) and UpdatePodSandboxResources against a real berthd
// (root): the overlay snapshotter, the native runtime, the imported busybox test image,
// host-network pods (no CNI needed) running real containers.
//
// Covered: every Stream* RPC returns exactly what its List* RPC returns, with the same filters
// (id, id prefix, state, pod, labels; image reference), an empty result is a clean end of stream,
// large results are split into bounded messages; a client that cancels or stops reading does not
// keep a handler running, and berthd's shutdown ends a stalled list stream at once instead of
// after its 5 s grace period. UpdatePodSandboxResources: INVALID_ARGUMENT / NOT_FOUND for bad ids,
// the new overhead/resources in PodSandboxStatus' verbose info, in the pod record and after a
// berthd restart, and no write to the pod cgroup.

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/cri.h"
#include "common/fs.h"
#include "cri/server/list_stream.h"
#include "images.grpc.pb.h"
#include "tests/integration/image_service_fixture.h"
#include "tests/support/berthd_process.h"
#include "tests/support/test_env.h"

namespace berth::testing {
namespace {

namespace cri = ::runtime::v1;
using google::protobuf::RepeatedPtrField;
using google::protobuf::util::MessageDifferencer;
using namespace std::chrono_literals;

constexpr const char* kBusybox = "docker.io/library/busybox:test";

std::string Slurp(const std::string& p) {
  auto r = ReadFile(p);
  return r.ok() ? *r : "";
}

// Everything a stream delivered.
template <typename Item>
struct Drained {
  grpc::Status status;
  std::vector<Item> items;
  std::vector<size_t> message_bytes;  // one entry per response message
};

template <typename Item, typename Response>
Drained<Item> Drain(std::unique_ptr<grpc::ClientReader<Response>> reader,
                    const RepeatedPtrField<Item>& (Response::*field)() const) {
  Drained<Item> d;
  Response r;
  while (reader->Read(&r)) {
    d.message_bytes.push_back(r.ByteSizeLong());
    for (const Item& i : (r.*field)()) d.items.push_back(i);
  }
  d.status = reader->Finish();
  return d;
}

// Equal as sets of messages, matched by `key` (every key once on both sides).
template <typename Item, typename Key>
void ExpectSameItems(std::vector<Item> listed, std::vector<Item> streamed, Key key,
                     const std::string& what) {
  auto by_key = [&](const Item& a, const Item& b) { return key(a) < key(b); };
  std::sort(listed.begin(), listed.end(), by_key);
  std::sort(streamed.begin(), streamed.end(), by_key);
  ASSERT_EQ(listed.size(), streamed.size()) << what;
  for (size_t i = 0; i < listed.size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(listed[i], streamed[i]))
        << what << ": listed\n"
        << listed[i].DebugString() << "streamed\n"
        << streamed[i].DebugString();
    if (i > 0) {
      EXPECT_NE(key(streamed[i - 1]), key(streamed[i])) << what << ": sent twice";
    }
  }
}

class CriStreamListsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BERTH_REQUIRE_ROOT();
    ASSERT_TRUE(TestImages::Get().ok()) << TestImages::Get().error();
    // Short shim state dir: shim sockets must fit the 107-byte sun_path limit.
    nlohmann::json cfg = {
        {"snapshotter", "overlay"},
        {"plugins", {{"io.berth.runtime.v1/native", {{"state_dir", shim_dir_.path()}}}}}};
    std::ofstream(dir_ / "berthd.json") << cfg.dump();
    berthd_ = std::make_unique<BerthdProcess>(
        std::vector<std::string>{"--config", dir_ / "berthd.json"}, BERTH_PLUGIN_BUILD_DIR);
    ASSERT_TRUE(berthd_->Start(20000)) << berthd_->Stderr();
    Connect();
  }

  void TearDown() override {
    if (!berthd_) return;
    if (rt_ && std::filesystem::exists(berthd_->socket())) {
      for (const cri::Container& c : ListContainers({})) {
        grpc::ClientContext ctx;
        cri::RemoveContainerRequest req;
        cri::RemoveContainerResponse resp;
        req.set_container_id(c.id());
        EXPECT_TRUE(rt_->RemoveContainer(&ctx, req, &resp).ok());
      }
      for (const std::string& p : pods_) {
        grpc::ClientContext ctx;
        cri::RemovePodSandboxRequest req;
        cri::RemovePodSandboxResponse resp;
        req.set_pod_sandbox_id(p);
        EXPECT_TRUE(rt_->RemovePodSandbox(&ctx, req, &resp).ok());
      }
    }
    if (HasFailure()) std::cerr << "berthd stderr:\n" << berthd_->Stderr() << "\n";
    rt_.reset();
    images_.reset();
    img_.reset();
    berthd_->Stop(SIGTERM);
  }

  void Connect() {
    auto ch = grpc::CreateChannel(berthd_->endpoint(), grpc::InsecureChannelCredentials());
    rt_ = cri::RuntimeService::NewStub(ch);
    img_ = cri::ImageService::NewStub(ch);
    images_ = berth::v1::Images::NewStub(ch);
  }

  static void Deadline(grpc::ClientContext& ctx, int s = 60) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(s));
  }

  void ImportBusybox() {
    grpc::ClientContext ctx;
    Deadline(ctx);
    berth::v1::ImportImageRequest req;
    berth::v1::ImportImageResponse resp;
    req.set_path(TestImages::Get().path("busybox"));
    req.set_name(kBusybox);
    grpc::Status s = images_->Import(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  cri::PodSandboxConfig PodConfig(const std::string& name,
                                  const std::map<std::string, std::string>& labels = {}) const {
    cri::PodSandboxConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_uid(name + "-uid");
    c.mutable_metadata()->set_namespace_("streams");
    c.set_log_directory(dir_ / ("logs-" + name));
    for (const auto& [k, v] : labels) (*c.mutable_labels())[k] = v;
    auto* ns = c.mutable_linux()->mutable_security_context()->mutable_namespace_options();
    ns->set_network(cri::NODE);
    ns->set_pid(cri::CONTAINER);
    return c;
  }

  std::string RunPod(const cri::PodSandboxConfig& c) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::RunPodSandboxRequest req;
    *req.mutable_config() = c;
    cri::RunPodSandboxResponse resp;
    grpc::Status s = rt_->RunPodSandbox(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message() << "\n" << berthd_->Stderr();
    if (s.ok()) pods_.push_back(resp.pod_sandbox_id());
    return resp.pod_sandbox_id();
  }

  grpc::Status StopPod(const std::string& id) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::StopPodSandboxRequest req;
    cri::StopPodSandboxResponse resp;
    req.set_pod_sandbox_id(id);
    return rt_->StopPodSandbox(&ctx, req, &resp);
  }

  // Creates (and unless `start` is false, starts) a busybox container running `cmd`.
  std::string RunContainer(const std::string& pod, const std::string& name,
                           std::vector<std::string> cmd,
                           const std::map<std::string, std::string>& labels = {},
                           bool start = true) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::CreateContainerRequest req;
    cri::CreateContainerResponse resp;
    req.set_pod_sandbox_id(pod);
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name(name);
    c->mutable_image()->set_image(kBusybox);
    for (auto& a : cmd) c->add_command(a);
    c->set_log_path(name + ".log");
    for (const auto& [k, v] : labels) (*c->mutable_labels())[k] = v;
    grpc::Status s = rt_->CreateContainer(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << name << ": " << s.error_message();
    if (!s.ok() || !start) return resp.container_id();
    grpc::ClientContext ctx2;
    Deadline(ctx2);
    cri::StartContainerRequest sreq;
    cri::StartContainerResponse sresp;
    sreq.set_container_id(resp.container_id());
    s = rt_->StartContainer(&ctx2, sreq, &sresp);
    EXPECT_TRUE(s.ok()) << name << ": " << s.error_message();
    return resp.container_id();
  }

  void WaitExited(const std::string& id) {
    for (int i = 0; i < 400; ++i) {
      cri::ContainerFilter f;
      f.set_id(id);
      auto cs = ListContainers(f);
      if (cs.size() == 1 && cs[0].state() == cri::CONTAINER_EXITED) return;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "container " << id << " did not exit";
  }

  std::vector<cri::PodSandbox> ListPods(const cri::PodSandboxFilter& f) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::ListPodSandboxRequest req;
    *req.mutable_filter() = f;
    cri::ListPodSandboxResponse resp;
    grpc::Status s = rt_->ListPodSandbox(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.items().begin(), resp.items().end()};
  }
  Drained<cri::PodSandbox> StreamPods(const cri::PodSandboxFilter& f) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::StreamPodSandboxesRequest req;
    *req.mutable_filter() = f;
    return Drain(rt_->StreamPodSandboxes(&ctx, req),
                 &cri::StreamPodSandboxesResponse::pod_sandboxes);
  }

  std::vector<cri::Container> ListContainers(const cri::ContainerFilter& f) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::ListContainersRequest req;
    *req.mutable_filter() = f;
    cri::ListContainersResponse resp;
    grpc::Status s = rt_->ListContainers(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.containers().begin(), resp.containers().end()};
  }
  Drained<cri::Container> StreamContainers(const cri::ContainerFilter& f) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::StreamContainersRequest req;
    *req.mutable_filter() = f;
    return Drain(rt_->StreamContainers(&ctx, req), &cri::StreamContainersResponse::containers);
  }

  // Pod verbose info ("info" JSON) and the status.
  nlohmann::json PodInfo(const std::string& id, grpc::Status* status = nullptr) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(id);
    req.set_verbose(true);
    cri::PodSandboxStatusResponse resp;
    grpc::Status s = rt_->PodSandboxStatus(&ctx, req, &resp);
    if (status) *status = s;
    if (!s.ok() || !resp.info().count("info")) return {};
    return nlohmann::json::parse(resp.info().at("info"));
  }

  grpc::Status UpdatePod(const std::string& id, const cri::LinuxContainerResources* overhead,
                         const cri::LinuxContainerResources* resources) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::UpdatePodSandboxResourcesRequest req;
    req.set_pod_sandbox_id(id);
    if (overhead) *req.mutable_overhead() = *overhead;
    if (resources) *req.mutable_resources() = *resources;
    cri::UpdatePodSandboxResourcesResponse resp;
    return rt_->UpdatePodSandboxResources(&ctx, req, &resp);
  }

  // A channel whose streams stall when not read: no BDP probing and no lookahead keep the
  // client's receive window at ~64 KiB, so berthd blocks in Write until the client reads or
  // goes away.
  std::shared_ptr<grpc::Channel> StalledClientChannel() const {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 0);
    return grpc::CreateCustomChannel(berthd_->endpoint(), grpc::InsecureChannelCredentials(), args);
  }

  // `n` ready pods, each with a `kib` KiB annotation (large list results).
  void RunBigPods(int n, int kib) {
    for (int i = 0; i < n; ++i) {
      cri::PodSandboxConfig c = PodConfig("big-" + std::to_string(i), {{"size", "big"}});
      (*c.mutable_annotations())["payload"] = std::string(kib * 1024, 'a' + i % 26);
      ASSERT_FALSE(RunPod(c).empty());
    }
  }

  TempDir dir_, shim_dir_;
  std::unique_ptr<BerthdProcess> berthd_;
  std::unique_ptr<cri::RuntimeService::Stub> rt_;
  std::unique_ptr<cri::ImageService::Stub> img_;
  std::unique_ptr<berth::v1::Images::Stub> images_;
  std::vector<std::string> pods_;
};

auto PodId = [](const auto& p) { return p.id(); };

// Pods and containers in several states and with labels: each Stream* RPC returns what its List*
// RPC returns, for each filter, and an empty result ends the stream with no message.
TEST_F(CriStreamListsTest, StreamsReturnWhatListsReturnWithTheSameFilters) {
  ASSERT_NO_FATAL_FAILURE(ImportBusybox());
  std::string web = RunPod(PodConfig("web", {{"app", "web"}, {"tier", "front"}}));
  std::string db = RunPod(PodConfig("db", {{"app", "db"}, {"tier", "back"}}));
  std::string old = RunPod(PodConfig("old", {{"app", "web"}, {"tier", "back"}}));
  ASSERT_FALSE(web.empty() || db.empty() || old.empty());
  std::string w1 = RunContainer(web, "server", {"sleep", "1000"}, {{"role", "server"}});
  std::string w2 = RunContainer(web, "init", {"true"}, {{"role", "init"}});
  std::string d1 = RunContainer(db, "server", {"sleep", "1000"}, {{"role", "server"}});
  std::string d2 = RunContainer(db, "later", {"sleep", "1000"}, {{"role", "later"}}, false);
  ASSERT_FALSE(w1.empty() || w2.empty() || d1.empty() || d2.empty());
  WaitExited(w2);
  ASSERT_TRUE(StopPod(old).ok());

  // ---- pods ----
  auto pods = [&](const cri::PodSandboxFilter& f, size_t want, const std::string& what) {
    std::vector<cri::PodSandbox> listed = ListPods(f);
    Drained<cri::PodSandbox> streamed = StreamPods(f);
    ASSERT_TRUE(streamed.status.ok()) << what << ": " << streamed.status.error_message();
    EXPECT_EQ(listed.size(), want) << what;
    if (want == 0) {
      EXPECT_TRUE(streamed.message_bytes.empty()) << what << ": messages sent";
    }
    ExpectSameItems(listed, streamed.items, PodId, "pods " + what);
  };
  cri::PodSandboxFilter pf;
  pods(pf, 3, "no filter");
  pf.set_id(db);
  pods(pf, 1, "id");
  pf.set_id(db.substr(0, 12));
  pods(pf, 1, "id prefix");
  pf.set_id(std::string(64, '0'));
  pods(pf, 0, "unknown id");
  pf.Clear();
  pf.mutable_state()->set_state(cri::SANDBOX_READY);
  pods(pf, 2, "ready");
  pf.mutable_state()->set_state(cri::SANDBOX_NOTREADY);
  pods(pf, 1, "notready");
  pf.Clear();
  (*pf.mutable_label_selector())["app"] = "web";
  pods(pf, 2, "app=web");
  (*pf.mutable_label_selector())["tier"] = "back";
  pods(pf, 1, "app=web,tier=back");
  pf.mutable_state()->set_state(cri::SANDBOX_READY);
  pods(pf, 0, "app=web,tier=back,ready");

  // ---- containers ----
  auto containers = [&](const cri::ContainerFilter& f, size_t want, const std::string& what) {
    std::vector<cri::Container> listed = ListContainers(f);
    Drained<cri::Container> streamed = StreamContainers(f);
    ASSERT_TRUE(streamed.status.ok()) << what << ": " << streamed.status.error_message();
    EXPECT_EQ(listed.size(), want) << what;
    if (want == 0) {
      EXPECT_TRUE(streamed.message_bytes.empty()) << what << ": messages sent";
    }
    ExpectSameItems(listed, streamed.items, PodId, "containers " + what);
  };
  cri::ContainerFilter cf;
  containers(cf, 4, "no filter");
  cf.set_id(d1.substr(0, 10));
  containers(cf, 1, "id prefix");
  cf.Clear();
  cf.set_pod_sandbox_id(web);
  containers(cf, 2, "pod");
  cf.mutable_state()->set_state(cri::CONTAINER_RUNNING);
  containers(cf, 1, "pod + running");
  cf.Clear();
  cf.mutable_state()->set_state(cri::CONTAINER_EXITED);
  containers(cf, 1, "exited");
  cf.mutable_state()->set_state(cri::CONTAINER_CREATED);
  containers(cf, 1, "created");
  cf.Clear();
  (*cf.mutable_label_selector())["role"] = "server";
  containers(cf, 2, "role=server");
  cf.set_pod_sandbox_id(old);
  containers(cf, 0, "role=server in a pod without containers");

  // ---- container stats (the figures move between calls: compare the attributes) ----
  auto container_stats = [&](const cri::ContainerStatsFilter& f, const std::string& what) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::ListContainerStatsRequest lreq;
    *lreq.mutable_filter() = f;
    cri::ListContainerStatsResponse lresp;
    EXPECT_TRUE(rt_->ListContainerStats(&ctx, lreq, &lresp).ok()) << what;
    grpc::ClientContext sctx;
    Deadline(sctx);
    cri::StreamContainerStatsRequest sreq;
    *sreq.mutable_filter() = f;
    auto streamed = Drain(rt_->StreamContainerStats(&sctx, sreq),
                          &cri::StreamContainerStatsResponse::container_stats);
    EXPECT_TRUE(streamed.status.ok()) << what << ": " << streamed.status.error_message();
    std::vector<cri::ContainerAttributes> listed, got;
    for (const auto& s : lresp.stats()) listed.push_back(s.attributes());
    for (const auto& s : streamed.items) {
      got.push_back(s.attributes());
      // Every container has a writable layer; CPU/memory only while it runs.
      EXPECT_TRUE(s.has_writable_layer()) << what << ": " << s.DebugString();
      if (s.attributes().id() == w1 || s.attributes().id() == d1) {
        EXPECT_TRUE(s.has_cpu() && s.has_memory()) << what << ": " << s.DebugString();
      }
    }
    ExpectSameItems(listed, got, PodId, "container stats " + what);
    return listed.size();
  };
  cri::ContainerStatsFilter sf;
  size_t all_stats = container_stats(sf, "no filter");
  EXPECT_GE(all_stats, 2u);
  sf.set_pod_sandbox_id(db);
  EXPECT_GE(container_stats(sf, "pod"), 1u);
  sf.Clear();
  sf.set_id(w1);
  EXPECT_EQ(container_stats(sf, "id"), 1u);
  sf.Clear();
  (*sf.mutable_label_selector())["role"] = "nobody";
  EXPECT_EQ(container_stats(sf, "no match"), 0u);

  // ---- pod stats ----
  auto pod_stats = [&](const cri::PodSandboxStatsFilter& f, const std::string& what) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::ListPodSandboxStatsRequest lreq;
    *lreq.mutable_filter() = f;
    cri::ListPodSandboxStatsResponse lresp;
    EXPECT_TRUE(rt_->ListPodSandboxStats(&ctx, lreq, &lresp).ok()) << what;
    grpc::ClientContext sctx;
    Deadline(sctx);
    cri::StreamPodSandboxStatsRequest sreq;
    *sreq.mutable_filter() = f;
    auto streamed = Drain(rt_->StreamPodSandboxStats(&sctx, sreq),
                          &cri::StreamPodSandboxStatsResponse::pod_sandbox_stats);
    EXPECT_TRUE(streamed.status.ok()) << what << ": " << streamed.status.error_message();
    std::vector<cri::PodSandboxAttributes> listed, got;
    for (const auto& s : lresp.stats()) listed.push_back(s.attributes());
    for (const auto& s : streamed.items) got.push_back(s.attributes());
    ExpectSameItems(listed, got, PodId, "pod stats " + what);
    return listed.size();
  };
  cri::PodSandboxStatsFilter psf;
  EXPECT_EQ(pod_stats(psf, "no filter"), 2u);  // ready pods only
  (*psf.mutable_label_selector())["tier"] = "front";
  EXPECT_EQ(pod_stats(psf, "tier=front"), 1u);
  psf.Clear();
  psf.set_id(old);
  EXPECT_EQ(pod_stats(psf, "the stopped pod"), 0u);

  // ---- pod metrics: the same pods, containers and metric names ----
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::ListPodSandboxMetricsRequest lreq;
    cri::ListPodSandboxMetricsResponse lresp;
    ASSERT_TRUE(rt_->ListPodSandboxMetrics(&ctx, lreq, &lresp).ok());
    grpc::ClientContext sctx;
    Deadline(sctx);
    cri::StreamPodSandboxMetricsRequest sreq;
    auto streamed = Drain(rt_->StreamPodSandboxMetrics(&sctx, sreq),
                          &cri::StreamPodSandboxMetricsResponse::pod_sandbox_metrics);
    ASSERT_TRUE(streamed.status.ok()) << streamed.status.error_message();
    auto shape = [](const cri::PodSandboxMetrics& m) {
      std::set<std::string> s;
      for (const auto& x : m.metrics()) s.insert("pod/" + x.name());
      for (const auto& c : m.container_metrics())
        for (const auto& x : c.metrics()) s.insert(c.container_id() + "/" + x.name());
      return s;
    };
    std::map<std::string, std::set<std::string>> listed, got;
    for (const auto& m : lresp.pod_metrics()) listed[m.pod_sandbox_id()] = shape(m);
    for (const auto& m : streamed.items) {
      EXPECT_EQ(got.count(m.pod_sandbox_id()), 0u) << "sent twice: " << m.pod_sandbox_id();
      got[m.pod_sandbox_id()] = shape(m);
    }
    EXPECT_EQ(listed.size(), 2u);
    EXPECT_EQ(got, listed);
  }

  // ---- images ----
  auto images = [&](const std::string& ref, const std::string& what) {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::ListImagesRequest lreq;
    lreq.mutable_filter()->mutable_image()->set_image(ref);
    cri::ListImagesResponse lresp;
    grpc::Status ls = img_->ListImages(&ctx, lreq, &lresp);
    grpc::ClientContext sctx;
    Deadline(sctx);
    cri::StreamImagesRequest sreq;
    sreq.mutable_filter()->mutable_image()->set_image(ref);
    auto streamed = Drain(img_->StreamImages(&sctx, sreq), &cri::StreamImagesResponse::images);
    EXPECT_EQ(streamed.status.error_code(), ls.error_code()) << what;
    EXPECT_EQ(streamed.status.error_message(), ls.error_message()) << what;
    if (lresp.images().empty()) {
      EXPECT_TRUE(streamed.message_bytes.empty()) << what;
    }
    ExpectSameItems(std::vector<cri::Image>(lresp.images().begin(), lresp.images().end()),
                    streamed.items, PodId, "images " + what);
    return ls.ok() ? lresp.images_size() : -1;
  };
  EXPECT_GE(images("", "no filter"), 1);
  EXPECT_EQ(images(kBusybox, "by name"), 1);
  EXPECT_EQ(images("docker.io/library/never-imported:1", "unknown"), 0);
  EXPECT_EQ(images("Not A Reference!", "invalid reference"), -1);
}

// A result larger than one message's budget arrives in several bounded messages, each pod once.
TEST_F(CriStreamListsTest, LargeResultsAreSplitIntoBoundedMessages) {
  ASSERT_NO_FATAL_FAILURE(RunBigPods(8, 300));  // ~2.4 MB in all
  cri::PodSandboxFilter f;
  std::vector<cri::PodSandbox> listed = ListPods(f);
  Drained<cri::PodSandbox> streamed = StreamPods(f);
  ASSERT_TRUE(streamed.status.ok()) << streamed.status.error_message();
  EXPECT_EQ(listed.size(), 8u);
  ExpectSameItems(listed, streamed.items, PodId, "big pods");
  EXPECT_GE(streamed.message_bytes.size(), 3u);
  for (size_t b : streamed.message_bytes) EXPECT_LE(b, kListStreamMaxBytes + 64) << b;
}

// A client that stops reading and then cancels: the stream ends (CANCELLED), the connection and
// berthd keep working, and no handler is left running (berthd's shutdown does not wait for one).
TEST_F(CriStreamListsTest, ClientCancelEndsTheStream) {
  ASSERT_NO_FATAL_FAILURE(RunBigPods(12, 512));
  auto ch = StalledClientChannel();
  auto stub = cri::RuntimeService::NewStub(ch);
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::StreamPodSandboxesRequest req;
    auto reader = stub->StreamPodSandboxes(&ctx, req);
    cri::StreamPodSandboxesResponse first;
    ASSERT_TRUE(reader->Read(&first));
    EXPECT_GE(first.pod_sandboxes_size(), 1);
    std::this_thread::sleep_for(500ms);  // berthd is now blocked on the stalled client
    ctx.TryCancel();
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // The same connection, read this time: all ~6 MB, too much for ListPodSandbox under gRPC's
  // default 4 MiB client limit (which is what the stream is for).
  {
    grpc::ClientContext ctx;
    Deadline(ctx);
    cri::StreamPodSandboxesRequest req;
    auto all =
        Drain(stub->StreamPodSandboxes(&ctx, req), &cri::StreamPodSandboxesResponse::pod_sandboxes);
    EXPECT_TRUE(all.status.ok()) << all.status.error_message();
    EXPECT_EQ(all.items.size(), 12u);
  }
  // A write that found the socket full starts gRPC's (1.51) TCP backup poller, which polls in
  // 10 s rounds and which berthd's final grpc_shutdown joins: let its round end first, so that
  // what is measured below is berthd's own shutdown (5 s grace if a handler were still running).
  std::this_thread::sleep_for(10500ms);
  rt_.reset();
  img_.reset();
  images_.reset();
  auto t0 = std::chrono::steady_clock::now();
  int status = berthd_->Stop(SIGTERM);
  auto took = std::chrono::steady_clock::now() - t0;
  std::cout << "berthd exited "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms after SIGTERM\n";
  stub.reset();
  ch.reset();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::string log = berthd_->Stderr();
  EXPECT_LT(took, 3s) << "a cancelled list stream kept its handler running\n" << log;
  ASSERT_TRUE(berthd_->Start(20000)) << berthd_->Stderr();
  Connect();
}

// SIGTERM while a client holds a list stream without reading: berthd cancels the stream at once
// (the client sees CANCELLED, not the rest of the list) and exits without its 5 s grace period.
TEST_F(CriStreamListsTest, ShutdownEndsAStalledListStream) {
  ASSERT_NO_FATAL_FAILURE(RunBigPods(12, 512));
  auto ch = StalledClientChannel();
  auto stub = cri::RuntimeService::NewStub(ch);
  auto ctx = std::make_unique<grpc::ClientContext>();
  Deadline(*ctx, 120);
  cri::StreamPodSandboxesRequest req;
  auto reader = stub->StreamPodSandboxes(ctx.get(), req);
  std::this_thread::sleep_for(1s);  // berthd fills the window and blocks in Write
  // The client wakes up only 2 s after the signal: had berthd not cancelled the stream by then,
  // reading would let it finish normally (status OK) instead.
  grpc::Status finished;
  int items = 0;
  std::thread client([&] {
    std::this_thread::sleep_for(2s);
    cri::StreamPodSandboxesResponse r;
    while (reader->Read(&r)) items += r.pod_sandboxes_size();
    finished = reader->Finish();
    reader.reset();
    ctx.reset();
    stub.reset();
    ch.reset();
  });
  rt_.reset();
  img_.reset();
  images_.reset();
  auto t0 = std::chrono::steady_clock::now();
  int status = berthd_->Stop(SIGTERM);
  auto took = std::chrono::steady_clock::now() - t0;
  client.join();
  std::cout << "berthd exited "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
            << " ms after SIGTERM\n";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_FALSE(finished.ok()) << "the stalled stream was not ended by the shutdown (" << items
                              << " pods read)";
  EXPECT_LT(items, 12);
  EXPECT_LT(took, 4500ms) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                          << " ms\n"
                          << berthd_->Stderr();
  // Start it again so TearDown removes the pods through the API.
  ASSERT_TRUE(berthd_->Start(20000)) << berthd_->Stderr();
  Connect();
}

// UpdatePodSandboxResources: bad ids, then the new values in the verbose info, in the record and
// after a restart; the pod cgroup is left to the kubelet.
TEST_F(CriStreamListsTest, UpdatePodSandboxResourcesIsRecordedDurably) {
  cri::PodSandboxConfig c = PodConfig("resized");
  c.mutable_linux()->mutable_resources()->set_cpu_shares(256);
  std::string pod = RunPod(c);
  ASSERT_FALSE(pod.empty());

  cri::LinuxContainerResources overhead;
  overhead.set_cpu_shares(10);
  overhead.set_memory_limit_in_bytes(64 << 20);
  cri::LinuxContainerResources resources;
  resources.set_cpu_period(100000);
  resources.set_cpu_quota(50000);
  resources.set_cpu_shares(512);
  resources.set_memory_limit_in_bytes(256 << 20);
  (*resources.mutable_unified())["memory.high"] = "200000000";

  grpc::Status s = UpdatePod("", &overhead, &resources);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("pod_sandbox_id"), std::string::npos) << s.error_message();
  s = UpdatePod(std::string(64, 'f'), &overhead, &resources);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();

  // The pod's memory limit file (berth's default pod cgroup /berth/<id>), v2 or v1.
  std::string cgroup_file = "/sys/fs/cgroup/berth/" + pod + "/memory.max";
  if (!std::filesystem::exists(cgroup_file)) {
    cgroup_file = "/sys/fs/cgroup/memory/berth/" + pod + "/memory.limit_in_bytes";
  }
  std::string memory_max_before = Slurp(cgroup_file);
  ASSERT_FALSE(memory_max_before.empty()) << cgroup_file;

  s = UpdatePod(pod.substr(0, 12), &overhead, &resources);
  ASSERT_TRUE(s.ok()) << s.error_message();
  nlohmann::json linux = PodInfo(pod)["config"]["linux"];
  EXPECT_EQ(linux["overhead"]["cpu_shares"], "10") << linux.dump();
  EXPECT_EQ(linux["overhead"]["memory_limit_in_bytes"], std::to_string(64 << 20));
  EXPECT_EQ(linux["resources"]["cpu_quota"], "50000") << linux.dump();
  EXPECT_EQ(linux["resources"]["memory_limit_in_bytes"], std::to_string(256 << 20));
  EXPECT_EQ(linux["resources"]["unified"]["memory.high"], "200000000");
  EXPECT_EQ(Slurp(cgroup_file), memory_max_before) << "berth wrote the pod cgroup";

  // Only resources this time: they are replaced as a whole (cpu_quota gone), overhead stays.
  cri::LinuxContainerResources smaller;
  smaller.set_cpu_shares(128);
  smaller.set_memory_limit_in_bytes(128 << 20);
  ASSERT_TRUE(UpdatePod(pod, nullptr, &smaller).ok());
  auto check = [&](const std::string& when) {
    nlohmann::json l = PodInfo(pod)["config"]["linux"];
    EXPECT_EQ(l["overhead"]["cpu_shares"], "10") << when << ": " << l.dump();
    EXPECT_EQ(l["resources"]["cpu_shares"], "128") << when << ": " << l.dump();
    EXPECT_EQ(l["resources"]["memory_limit_in_bytes"], std::to_string(128 << 20)) << when;
    EXPECT_FALSE(l["resources"].contains("cpu_quota")) << when << ": " << l.dump();
    EXPECT_FALSE(l["resources"].contains("unified")) << when << ": " << l.dump();
  };
  check("before the restart");
  // The record on disk says the same.
  auto record = nlohmann::json::parse(Slurp(berthd_->root() + "/pods/" + pod + "/pod.json"));
  EXPECT_EQ(record["config"]["linux"]["resources"]["cpu_shares"], "128") << record.dump();

  // A stopped pod still takes the update (the kubelet may race a resize with a stop).
  ASSERT_TRUE(StopPod(pod).ok());
  smaller.set_cpu_shares(64);
  ASSERT_TRUE(UpdatePod(pod, nullptr, &smaller).ok());

  rt_.reset();
  img_.reset();
  images_.reset();
  berthd_->Stop(SIGKILL);
  ASSERT_TRUE(berthd_->Start(20000)) << berthd_->Stderr();
  Connect();
  nlohmann::json l = PodInfo(pod)["config"]["linux"];
  EXPECT_EQ(l["resources"]["cpu_shares"], "64") << l.dump();
  EXPECT_EQ(l["overhead"]["memory_limit_in_bytes"], std::to_string(64 << 20)) << l.dump();

  // Gone once removed.
  grpc::ClientContext ctx;
  cri::RemovePodSandboxRequest rreq;
  cri::RemovePodSandboxResponse rresp;
  rreq.set_pod_sandbox_id(pod);
  ASSERT_TRUE(rt_->RemovePodSandbox(&ctx, rreq, &rresp).ok());
  pods_.clear();
  EXPECT_EQ(UpdatePod(pod, &overhead, nullptr).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace berth::testing
