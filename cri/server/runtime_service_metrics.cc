// ListMetricDescriptors and ListPodSandboxMetrics (and its list stream, StreamPodSandboxMetrics):
// the CRI's cAdvisor-free metrics path (kubelet's PodAndContainerStatsFromCRI). A small, real set:
// the figures berth already reads from the cgroups for ContainerStats/PodSandboxStats, as metrics
// with the labels kubelet attaches. Pod-level metrics (the pod cgroup) carry container="" as
// cAdvisor's pod cgroup does.

#include <string>
#include <vector>

#include "cri/container/container_manager.h"
#include "cri/pod/pod_manager.h"
#include "cri/server/grpc_status.h"
#include "cri/server/runtime_service.h"

namespace berth {
namespace {

namespace cri = ::runtime::v1;

struct Descriptor {
  const char* name;
  const char* help;
  cri::MetricType type;
};

// Values are unsigned integers on the wire, so CPU time is in nanoseconds (not cAdvisor's float
// seconds) and says so in its name.
constexpr Descriptor kDescriptors[] = {
    {"container_cpu_usage_nanoseconds_total", "Cumulative CPU time consumed, in nanoseconds",
     cri::COUNTER},
    {"container_memory_working_set_bytes", "Current working set (usage minus inactive file)",
     cri::GAUGE},
    {"container_memory_usage_bytes", "Current memory usage, including all memory", cri::GAUGE},
    {"container_memory_rss", "Size of RSS (anonymous memory and swap cache)", cri::GAUGE},
    {"container_fs_usage_bytes", "Bytes used by the container's writable layer", cri::GAUGE},
};
const std::vector<std::string> kLabelKeys = {"container", "pod", "namespace"};

void Add(std::vector<cri::Metric>* out, const char* name, cri::MetricType type, uint64_t value,
         int64_t timestamp, const std::vector<std::string>& labels) {
  cri::Metric m;
  m.set_name(name);
  m.set_timestamp(timestamp);
  m.set_metric_type(type);
  for (const auto& l : labels) m.add_label_values(l);
  m.mutable_value()->set_value(value);
  out->push_back(std::move(m));
}

grpc::Status Starting() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "berthd is starting");
}

// ListPodSandboxMetrics and StreamPodSandboxMetrics: the metrics of every ready pod and its
// containers.
std::vector<cri::PodSandboxMetrics> CollectPodSandboxMetrics(const PodManager& pods,
                                                             const ContainerManager& containers) {
  std::vector<cri::PodSandboxMetrics> out;
  for (const PodView& pod : pods.List()) {
    if (pod.state != PodState::kReady) continue;
    const std::string& pod_name = pod.config.metadata().name();
    const std::string& ns = pod.config.metadata().namespace_();
    cri::PodSandboxMetrics* pm = &out.emplace_back();
    pm->set_pod_sandbox_id(pod.id);
    std::vector<cri::Metric> metrics;
    if (Result<PodCgroupStats> s = pods.Stats(pod.id); s.ok()) {
      std::vector<std::string> labels = {"", pod_name, ns};
      if (s->has_cpu) {
        Add(&metrics, kDescriptors[0].name, cri::COUNTER, s->cpu_usage_ns, s->timestamp_unix_nano,
            labels);
      }
      if (s->has_memory) {
        Add(&metrics, kDescriptors[1].name, cri::GAUGE, s->memory_working_set_bytes,
            s->timestamp_unix_nano, labels);
        Add(&metrics, kDescriptors[2].name, cri::GAUGE, s->memory_usage_bytes,
            s->timestamp_unix_nano, labels);
        Add(&metrics, kDescriptors[3].name, cri::GAUGE, s->memory_rss_bytes, s->timestamp_unix_nano,
            labels);
      }
    }
    for (auto& m : metrics) *pm->add_metrics() = std::move(m);

    cri::ContainerStatsFilter filter;
    filter.set_pod_sandbox_id(pod.id);
    for (const cri::ContainerStats& cs : containers.ListStats(filter)) {
      auto* cm = pm->add_container_metrics();
      cm->set_container_id(cs.attributes().id());
      std::vector<std::string> labels = {cs.attributes().metadata().name(), pod_name, ns};
      std::vector<cri::Metric> cmetrics;
      if (cs.has_cpu() && cs.cpu().has_usage_core_nano_seconds()) {
        Add(&cmetrics, kDescriptors[0].name, cri::COUNTER,
            cs.cpu().usage_core_nano_seconds().value(), cs.cpu().timestamp(), labels);
      }
      if (cs.has_memory()) {
        const auto& m = cs.memory();
        Add(&cmetrics, kDescriptors[1].name, cri::GAUGE, m.working_set_bytes().value(),
            m.timestamp(), labels);
        Add(&cmetrics, kDescriptors[2].name, cri::GAUGE, m.usage_bytes().value(), m.timestamp(),
            labels);
        Add(&cmetrics, kDescriptors[3].name, cri::GAUGE, m.rss_bytes().value(), m.timestamp(),
            labels);
      }
      if (cs.has_writable_layer()) {
        Add(&cmetrics, kDescriptors[4].name, cri::GAUGE, cs.writable_layer().used_bytes().value(),
            cs.writable_layer().timestamp(), labels);
      }
      for (auto& m : cmetrics) *cm->add_metrics() = std::move(m);
    }
  }
  return out;
}

}  // namespace

grpc::Status RuntimeService::ListMetricDescriptors(grpc::ServerContext*,
                                                   const cri::ListMetricDescriptorsRequest*,
                                                   cri::ListMetricDescriptorsResponse* resp) {
  for (const Descriptor& d : kDescriptors) {
    auto* out = resp->add_descriptors();
    out->set_name(d.name);
    out->set_help(d.help);
    for (const auto& k : kLabelKeys) out->add_label_keys(k);
  }
  return grpc::Status::OK;
}

grpc::Status RuntimeService::ListPodSandboxMetrics(grpc::ServerContext*,
                                                   const cri::ListPodSandboxMetricsRequest*,
                                                   cri::ListPodSandboxMetricsResponse* resp) {
  if (pods_ == nullptr || containers_ == nullptr) return Starting();
  for (auto& m : CollectPodSandboxMetrics(*pods_, *containers_)) {
    *resp->add_pod_metrics() = std::move(m);
  }
  return grpc::Status::OK;
}

grpc::Status RuntimeService::StreamPodSandboxMetrics(
    grpc::ServerContext* ctx, const cri::StreamPodSandboxMetricsRequest*,
    grpc::ServerWriter<cri::StreamPodSandboxMetricsResponse>* writer) {
  ListStreams::Guard open = list_streams_.Enter(ctx);
  if (!open.ok()) return ListStreamShuttingDown();
  if (pods_ == nullptr || containers_ == nullptr) return Starting();
  return SendInBatches(ctx, writer, CollectPodSandboxMetrics(*pods_, *containers_),
                       &cri::StreamPodSandboxMetricsResponse::mutable_pod_sandbox_metrics);
}

}  // namespace berth
