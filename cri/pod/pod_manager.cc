#include "cri/pod/pod_manager.h"

#include <dirent.h>
#include <errno.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "berth/plugin_abi.h"
#include "common/fs.h"
#include "common/json_reader.h"
#include "cri/network/network_client.h"
#include "cri/pod/pod_files.h"
#include "cri/pod/pod_infra.h"
#include "cri/pod/pod_namespaces.h"
#include "cri/pod/pod_validation.h"

namespace berth {
namespace {

using runtime::v1::NamespaceMode;
namespace pv1 = ::berth::plugin::v1;

// Annotations kubelet (and containerd/CRI-O) read for a pod's traffic shaping.
constexpr char kIngressBandwidth[] = "kubernetes.io/ingress-bandwidth";
constexpr char kEgressBandwidth[] = "kubernetes.io/egress-bandwidth";

Result<std::string> NewPodId() {
  unsigned char bytes[32];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "getrandom for a pod id");
    }
    got += static_cast<size_t>(n);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

// Pod names are unique per (name, namespace, uid, attempt), as in containerd and CRI-O.
std::string NameKey(const runtime::v1::PodSandboxMetadata& m) {
  return m.name() + "_" + m.namespace_() + "_" + m.uid() + "_" + std::to_string(m.attempt());
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The pod name as a host name: a UTS name holds at most 64 bytes; Kubernetes truncates to 63
// and drops trailing '-'/'.' (what kubelet itself would pass).
std::string DefaultHostname(const std::string& name) {
  std::string h = name.substr(0, 63);
  while (!h.empty() && (h.back() == '-' || h.back() == '.')) h.pop_back();
  return h;
}

std::string HostHostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  return out;
}

Status RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "remove " + path);
  return OkStatus();
}

Status RemoveDir(const std::string& path) {
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "remove " + path);
  return OkStatus();
}

// Removes the ".<name>.tmp-XXXXXX" files a crash in the middle of AtomicWriteFile leaves in
// `dir`: without this a half-created pod killed while writing /etc/hosts could never be
// removed ("Directory not empty"; found by tests/integration/cri_crash_test).
void RemoveAtomicWriteLeftovers(const std::string& dir) {
  for (const std::string& n : ListDir(dir)) {
    if (n.starts_with(".") && n.find(".tmp-") != std::string::npos) {
      (void)RemoveFile(dir + "/" + n);
    }
  }
}

void FillPodRef(const PodRecord& r, const std::string& netns, pv1::PodNetworkRef* ref) {
  const auto& m = r.view.config.metadata();
  ref->set_pod_id(r.view.id);
  ref->set_name(m.name());
  ref->set_namespace_(m.namespace_());
  ref->set_uid(m.uid());
  ref->set_netns_path(netns);
}

void FillPorts(const runtime::v1::PodSandboxConfig& c,
               google::protobuf::RepeatedPtrField<pv1::PortMapping>* out) {
  for (const auto& p : c.port_mappings()) {
    pv1::PortMapping* pm = out->Add();
    switch (p.protocol()) {
      case runtime::v1::UDP:
        pm->set_protocol("udp");
        break;
      case runtime::v1::SCTP:
        pm->set_protocol("sctp");
        break;
      default:
        pm->set_protocol("tcp");
        break;
    }
    pm->set_container_port(p.container_port());
    pm->set_host_port(p.host_port());
    pm->set_host_ip(p.host_ip());
  }
}

std::string StripPrefixLength(const std::string& cidr) { return cidr.substr(0, cidr.find('/')); }

}  // namespace

Result<std::unique_ptr<PodManager>> PodManager::Open(PodManagerOptions options,
                                                     const PluginHost& plugins,
                                                     const RuntimeHandlers& handlers,
                                                     PodInfra* infra, Logger logger) {
  std::unique_ptr<PodManager> m(
      new PodManager(std::move(options), plugins, handlers, infra, std::move(logger)));
  BERTH_RETURN_IF_ERROR(m->Recover());
  return m;
}

PodManager::PodManager(PodManagerOptions options, const PluginHost& plugins,
                       const RuntimeHandlers& handlers, PodInfra* infra, Logger logger)
    : options_(std::move(options)),
      plugins_(plugins),
      handlers_(handlers),
      infra_(infra),
      logger_(std::move(logger)) {}

PodManager::~PodManager() = default;

std::string PodManager::RecordDir(const std::string& id) const {
  return options_.root + "/pods/" + id;
}
std::string PodManager::StateDir(const std::string& id) const {
  return options_.state + "/pods/" + id;
}

Status PodManager::Save(const PodRecord& r) const {
  BERTH_RETURN_IF_ERROR(MakeDirs(RecordDir(r.view.id), 0700));
  return AtomicWriteFile(RecordDir(r.view.id) + "/pod.json", r.ToJson().dump(2), 0600)
      .Wrap("pod record");
}

void PodManager::Update(Entry& entry, const PodRecord& record) {
  std::lock_guard<std::mutex> l(mu_);
  entry.record = record;
}

// ---- Run ----

Result<std::string> PodManager::Run(const runtime::v1::PodSandboxConfig& config,
                                    const std::string& runtime_handler) {
  BERTH_RETURN_IF_ERROR(ValidatePodSandboxConfig(config));
  const auto& ns = config.linux().security_context().namespace_options();
  auto handler = handlers_.Resolve(runtime_handler);
  if (!handler.ok()) return handler.status();
  auto cgroup = NormalizeCgroupParent(config.linux().cgroup_parent());
  if (!cgroup.ok()) return cgroup.status().Wrap("linux.cgroup_parent");
  bool host_net = ns.network() == NamespaceMode::NODE;
  bool host_ipc = ns.ipc() == NamespaceMode::NODE;
  if (ns.pid() == NamespaceMode::POD && infra_ == nullptr) {
    return FailedPrecondition(
        "this berthd cannot run infra containers, so pods whose containers share a PID "
        "namespace (namespace_options.pid = POD) are not supported");
  }
  if (ns.pid() == NamespaceMode::POD &&
      plugins_.Find(BERTH_PLUGIN_TYPE_RUNTIME, handler->plugin) == nullptr) {
    return FailedPrecondition("runtime plugin \"" + handler->plugin + "\" (runtime handler \"" +
                              runtime_handler +
                              "\") is not loaded, so it cannot run this pod's infra container "
                              "(its containers share a PID namespace); see `berthctl plugins`");
  }
  if (!host_net && plugins_.Find(BERTH_PLUGIN_TYPE_NETWORK, options_.network_plugin) == nullptr) {
    return FailedPrecondition("the network plugin \"" + options_.network_plugin +
                              "\" (io.berth.network.v1) is not loaded, so a pod without host "
                              "networking cannot be connected (see `berthctl plugins` and the "
                              "\"network_plugin\" config key)");
  }

  std::string key = NameKey(config.metadata());
  auto id = NewPodId();
  if (!id.ok()) return id.status();
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = names_.find(key);
    if (it != names_.end()) {
      return AlreadyExists("pod sandbox name \"" + key + "\" is already used by pod " + it->second +
                           "; remove that pod first or raise the attempt number");
    }
    names_[key] = *id;
  }

  PodRecord r;
  PodView& v = r.view;
  v.id = *id;
  v.config = config;
  v.runtime_handler = runtime_handler;
  v.runtime_plugin = handler->plugin;
  v.created_at_unix_nano = NowNanos();
  v.state = PodState::kReady;
  v.host_network = host_net;
  v.host_ipc = host_ipc;
  v.host_pid = ns.pid() == NamespaceMode::NODE;
  std::string dir = StateDir(v.id);
  if (!host_net) {
    v.netns_path = dir + "/ns/net";
    v.uts_ns_path = dir + "/ns/uts";
  }
  if (!host_ipc) {
    v.ipc_ns_path = dir + "/ns/ipc";
    v.shm_path = dir + "/shm";
  }
  v.hostname = host_net ? HostHostname()
                        : (config.hostname().empty() ? DefaultHostname(config.metadata().name())
                                                     : config.hostname());
  if (host_net && !config.hostname().empty()) v.hostname = config.hostname();
  v.hostname_path = dir + "/hostname";
  v.hosts_path = dir + "/hosts";
  v.resolv_conf_path = dir + "/resolv.conf";
  v.cgroup_parent = cgroup->empty() ? "/berth/" + v.id : *cgroup;
  v.log_directory = config.log_directory();
  r.network_plugin = host_net ? "" : options_.network_plugin;

  Status s = Create(r);
  if (!s.ok()) {
    logger_.Warn("pod sandbox creation failed; undoing it",
                 {{"pod", v.id}, {"name", key}, {"error", s.message()}});
    if (Status d = Destroy(r); !d.ok()) {
      logger_.Error("cannot undo a failed pod sandbox; berthd retries at its next start",
                    {{"pod", v.id}, {"error", d.message()}});
    }
    std::lock_guard<std::mutex> l(mu_);
    names_.erase(key);
    return s;
  }
  auto entry = std::make_shared<Entry>();
  entry->record = r;
  {
    std::lock_guard<std::mutex> l(mu_);
    pods_[v.id] = entry;
  }
  logger_.Info("pod sandbox ready", {{"pod", v.id}, {"name", key}, {"ip", v.ip}});
  return v.id;
}

Status PodManager::Create(PodRecord& r) {
  PodView& v = r.view;
  std::string dir = StateDir(v.id);
  r.creating = true;
  // The cgroup directories berth will make are recorded before they exist (see PlanPodCgroup).
  r.cgroup_dirs = PlanPodCgroup(v.cgroup_parent, options_.cgroup_root);
  BERTH_RETURN_IF_ERROR(Save(r));
  BERTH_RETURN_IF_ERROR(MakeDirs(dir, 0711));

  PodNamespaceRequest nsreq;
  nsreq.dir = dir + "/ns";
  nsreq.net = !v.host_network;
  nsreq.uts = !v.host_network;
  nsreq.ipc = !v.host_ipc;
  nsreq.hostname = v.hostname;
  BERTH_RETURN_IF_ERROR(CreatePodNamespaces(nsreq).Wrap("pod namespaces"));
  BERTH_RETURN_IF_ERROR(WriteHostnameFile(v.hostname_path, v.hostname));
  BERTH_RETURN_IF_ERROR(WriteResolvConf(v.resolv_conf_path, v.config.dns_config()));
  BERTH_RETURN_IF_ERROR(WriteHostsFile(v.hosts_path, v.hostname, "", v.host_network));
  if (!v.shm_path.empty()) BERTH_RETURN_IF_ERROR(MountPodShm(v.shm_path));
  BERTH_RETURN_IF_ERROR(CreatePodCgroup(r.cgroup_dirs).Wrap("pod cgroup"));
  if (v.config.linux().security_context().namespace_options().pid() == NamespaceMode::POD) {
    BERTH_RETURN_IF_ERROR(StartInfra(r));
  }

  if (!v.host_network) {
    BERTH_RETURN_IF_ERROR(SetupNetwork(r));
    BERTH_RETURN_IF_ERROR(WriteHostsFile(v.hosts_path, v.hostname, v.ip, false));
  }
  r.creating = false;
  return Save(r);
}

Status PodManager::SetupNetwork(PodRecord& r) {
  PluginHandle* h = plugins_.Find(BERTH_PLUGIN_TYPE_NETWORK, r.network_plugin);
  if (h == nullptr) {
    return FailedPrecondition("network plugin \"" + r.network_plugin + "\" is not loaded");
  }
  NetworkClient net(h);
  const auto& c = r.view.config;
  pv1::SetupNetworkRequest req;
  FillPodRef(r, r.view.netns_path, req.mutable_pod());
  FillPorts(c, req.mutable_port_mappings());
  for (const auto& [k, val] : c.annotations()) (*req.mutable_annotations())[k] = val;
  for (const auto& [k, val] : c.labels()) (*req.mutable_labels())[k] = val;
  req.set_cgroup_parent(r.view.cgroup_parent);
  if (auto it = c.annotations().find(kIngressBandwidth); it != c.annotations().end()) {
    req.set_bandwidth_ingress(it->second);
  }
  if (auto it = c.annotations().find(kEgressBandwidth); it != c.annotations().end()) {
    req.set_bandwidth_egress(it->second);
  }
  for (const auto& cidr : PodCidrs()) req.add_pod_cidrs(cidr);
  if (c.has_dns_config()) {
    for (const auto& s : c.dns_config().servers()) req.mutable_dns()->add_servers(s);
    for (const auto& s : c.dns_config().searches()) req.mutable_dns()->add_searches(s);
    for (const auto& s : c.dns_config().options()) req.mutable_dns()->add_options(s);
  }
  // Recorded before the call: a crash inside Setup must still lead to a Teardown.
  r.network_active = true;
  BERTH_RETURN_IF_ERROR(Save(r));
  auto resp = net.Setup(req);
  if (!resp.ok()) {
    // The plugin undoes a failed Setup itself (network.proto); a Teardown on top is harmless
    // and covers plugins that do not, but its failure must not keep the pod's remains alive.
    if (Status t = TeardownNetwork(r); !t.ok()) {
      logger_.Warn("teardown after failed network setup",
                   {{"pod", r.view.id}, {"error", t.message()}});
    }
    r.network_active = false;
    return resp.status().Wrap("network setup of pod " + r.view.id);
  }
  for (int i = 0; i < resp->ips_size(); ++i) {
    std::string ip = StripPrefixLength(resp->ips(i).address());
    if (i == 0) {
      r.view.ip = ip;
    } else {
      r.view.additional_ips.push_back(ip);
    }
  }
  return Save(r);
}

Status PodManager::TeardownNetwork(PodRecord& r) {
  PluginHandle* h = plugins_.Find(BERTH_PLUGIN_TYPE_NETWORK, r.network_plugin);
  if (h == nullptr) {
    return FailedPrecondition("cannot tear down the network of pod " + r.view.id +
                              ": network plugin \"" + r.network_plugin + "\" is not loaded");
  }
  pv1::TeardownNetworkRequest req;
  // After a reboot (or a crash after the netns was released) there is no namespace to enter;
  // the plugin then frees what it allocated from its own records.
  FillPodRef(r, IsNamespaceMount(r.view.netns_path) ? r.view.netns_path : "", req.mutable_pod());
  FillPorts(r.view.config, req.mutable_port_mappings());
  for (const auto& [k, val] : r.view.config.annotations()) (*req.mutable_annotations())[k] = val;
  BERTH_RETURN_IF_ERROR(NetworkClient(h).Teardown(req));
  r.network_active = false;
  return OkStatus();
}

Status PodManager::StartInfra(PodRecord& r) {
  // Recorded before the start: a crash inside it must still lead to a RemoveInfra.
  r.infra_task = true;
  BERTH_RETURN_IF_ERROR(Save(r));
  auto infra = infra_->Start(r.view);
  if (!infra.ok()) return infra.status().Wrap("pod infra container");
  r.view.infra_pid = infra->pid;
  r.infra_start_time = infra->start_time;
  r.view.pid_ns_path = "/proc/" + std::to_string(infra->pid) + "/ns/pid";
  return Save(r);
}

Status PodManager::StopInfra(PodRecord& r) {
  if (infra_ == nullptr) return FailedPrecondition("no infra container support");
  BERTH_RETURN_IF_ERROR(infra_->Stop(r.view));
  r.view.infra_pid = 0;
  r.infra_start_time = 0;
  r.view.pid_ns_path.clear();
  return OkStatus();
}

Status PodManager::RemoveInfra(PodRecord& r) {
  if (infra_ == nullptr) return FailedPrecondition("no infra container support");
  BERTH_RETURN_IF_ERROR(infra_->Remove(r.view));
  r.infra_task = false;
  r.view.infra_pid = 0;
  r.infra_start_time = 0;
  r.view.pid_ns_path.clear();
  return OkStatus();
}

// ---- Stop / Remove ----

Status PodManager::Stop(const std::string& id_or_prefix) {
  Status err;
  auto entry = Find(id_or_prefix, &err);
  if (!entry) return err;
  std::lock_guard<std::mutex> op(entry->op_mu);
  if (entry->removed) return NotFound("pod sandbox " + id_or_prefix + " not found");
  return StopLocked(*entry);
}

Status PodManager::StopLocked(Entry& entry) {
  PodRecord r;
  {
    std::lock_guard<std::mutex> l(mu_);
    r = entry.record;
  }
  if (containers_ != nullptr) {
    // As containerd: the kubelet has already stopped the containers with their grace periods;
    // what is left is killed at once.
    BERTH_RETURN_IF_ERROR(containers_->StopPodContainers(r.view.id, 0));
  }
  // NOTREADY is recorded before anything is torn down: a crash mid-stop (found by
  // tests/integration/cri_crash_test) otherwise left a pod that a restarted berthd listed as
  // READY with its network already gone. A repeated Stop finishes the remaining steps.
  bool was_ready = r.view.state != PodState::kNotReady;
  if (was_ready) {
    r.view.state = PodState::kNotReady;
    BERTH_RETURN_IF_ERROR(Save(r));
    Update(entry, r);
  }
  if (r.network_active) {
    BERTH_RETURN_IF_ERROR(TeardownNetwork(r));
    BERTH_RETURN_IF_ERROR(Save(r));
    Update(entry, r);
  }
  if (r.view.infra_pid != 0) {
    BERTH_RETURN_IF_ERROR(StopInfra(r));
    BERTH_RETURN_IF_ERROR(Save(r));
    Update(entry, r);
  }
  if (!r.view.host_network) BERTH_RETURN_IF_ERROR(ReleaseNamespaceFile(r.view.netns_path));
  if (was_ready) logger_.Info("pod sandbox stopped", {{"pod", r.view.id}});
  return OkStatus();
}

Status PodManager::Remove(const std::string& id_or_prefix) {
  Status err;
  auto entry = Find(id_or_prefix, &err);
  if (!entry) return err.code() == StatusCode::kNotFound ? OkStatus() : err;
  std::lock_guard<std::mutex> op(entry->op_mu);
  if (entry->removed) return OkStatus();
  BERTH_RETURN_IF_ERROR(StopLocked(*entry));
  PodRecord r;
  {
    std::lock_guard<std::mutex> l(mu_);
    r = entry->record;
  }
  if (containers_ != nullptr) BERTH_RETURN_IF_ERROR(containers_->RemovePodContainers(r.view.id));
  BERTH_RETURN_IF_ERROR(Destroy(r));
  std::lock_guard<std::mutex> l(mu_);
  pods_.erase(r.view.id);
  names_.erase(NameKey(r.view.config.metadata()));
  entry->removed = true;
  logger_.Info("pod sandbox removed", {{"pod", r.view.id}});
  return OkStatus();
}

Status PodManager::Destroy(PodRecord& r) {
  Status first;
  auto step = [&](Status s) {
    if (!s.ok() && first.ok()) first = s;
  };
  if (r.network_active) {
    Status t = TeardownNetwork(r);
    step(t);
    if (t.ok()) step(Save(r));
  }
  if (r.infra_task) {
    Status t = RemoveInfra(r);
    step(t);
    if (t.ok()) step(Save(r));
  }
  std::string dir = StateDir(r.view.id);
  step(DestroyPodNamespaces(dir + "/ns"));
  step(UnmountPodShm(dir + "/shm"));
  step(RemovePodCgroup(r.cgroup_dirs));
  if (!first.ok()) return first.Wrap("remove pod " + r.view.id);
  // Only known files, then rmdir: never a recursive delete below a path that could still hold
  // a mount.
  for (const char* f : {"hostname", "hosts", "resolv.conf"}) step(RemoveFile(dir + "/" + f));
  RemoveAtomicWriteLeftovers(dir);
  step(RemoveDir(dir));
  if (first.ok()) {
    step(RemoveFile(RecordDir(r.view.id) + "/pod.json"));
    RemoveAtomicWriteLeftovers(RecordDir(r.view.id));
    step(RemoveDir(RecordDir(r.view.id)));
  }
  return first.Wrap("remove pod " + r.view.id);
}

// ---- queries ----

std::shared_ptr<PodManager::Entry> PodManager::Find(const std::string& id_or_prefix,
                                                    Status* error) const {
  if (id_or_prefix.empty()) {
    *error = InvalidArgument("pod sandbox id is required");
    return nullptr;
  }
  std::lock_guard<std::mutex> l(mu_);
  auto it = pods_.lower_bound(id_or_prefix);
  if (it == pods_.end() || !it->first.starts_with(id_or_prefix)) {
    *error = NotFound("pod sandbox \"" + id_or_prefix + "\" not found");
    return nullptr;
  }
  if (it->first != id_or_prefix) {
    auto next = std::next(it);
    if (next != pods_.end() && next->first.starts_with(id_or_prefix)) {
      *error = InvalidArgument("pod sandbox id prefix \"" + id_or_prefix +
                               "\" matches more than one pod; give more characters");
      return nullptr;
    }
  }
  return it->second;
}

void PodManager::NoticeDeadInfraLocked(Entry& entry) const {
  PodRecord& r = entry.record;
  if (r.creating || r.view.state != PodState::kReady || r.view.infra_pid == 0) return;
  if (InfraAlive({r.view.infra_pid, r.infra_start_time})) return;
  r.view.state = PodState::kNotReady;
  if (Status s = Save(r); !s.ok()) {
    logger_.Warn("cannot record a pod as not ready", {{"pod", r.view.id}, {"error", s.message()}});
  }
  logger_.Warn("pod infra process died; pod sandbox is NOTREADY",
               {{"pod", r.view.id}, {"pid", r.view.infra_pid}});
}

Result<PodView> PodManager::Get(const std::string& id_or_prefix) const {
  Status err;
  auto entry = Find(id_or_prefix, &err);
  if (!entry) return err;
  std::lock_guard<std::mutex> l(mu_);
  NoticeDeadInfraLocked(*entry);
  return entry->record.view;
}

std::vector<PodView> PodManager::List() const {
  std::vector<PodView> out;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [id, e] : pods_) {
      NoticeDeadInfraLocked(*e);
      out.push_back(e->record.view);
    }
  }
  std::sort(out.begin(), out.end(), [](const PodView& a, const PodView& b) {
    return a.created_at_unix_nano < b.created_at_unix_nano;
  });
  return out;
}

void PodManager::SetPodCidrs(std::vector<std::string> cidrs) {
  std::lock_guard<std::mutex> l(mu_);
  pod_cidrs_ = std::move(cidrs);
}

std::vector<std::string> PodManager::PodCidrs() const {
  std::lock_guard<std::mutex> l(mu_);
  return pod_cidrs_;
}

Result<PodCgroupStats> PodManager::Stats(const std::string& id_or_prefix) const {
  auto v = Get(id_or_prefix);
  if (!v.ok()) return v.status();
  return ReadPodCgroupStats(v->cgroup_parent, options_.cgroup_root);
}

void PodManager::OnTaskExit(const plugin::v1::TaskExitEvent& event) {
  if (!event.exec_id().empty()) return;
  std::lock_guard<std::mutex> l(mu_);
  auto it = pods_.find(event.id());
  if (it == pods_.end()) {
    logger_.Debug("exit event for no known task",
                  {{"id", event.id()}, {"exit_status", event.exit_status()}});
    return;
  }
  NoticeDeadInfraLocked(*it->second);
}

// ---- recovery ----

// The directories of berth's default pod cgroup ("/berth/<id>") that exist, in every hierarchy.
std::vector<std::string> PodManager::ExistingDefaultPodCgroup(const std::string& id) const {
  std::vector<std::string> dirs;
  for (const std::string& h : ListDir(options_.cgroup_root)) {
    std::string d = options_.cgroup_root + "/" + h + "/berth/" + id;
    if (::access(d.c_str(), F_OK) == 0) dirs.push_back(d);
  }
  return dirs;
}

// Network allocations of pods that have no record any more (records removed while berthd was
// down, or lost between teardown steps): the network plugin frees them (CNI DEL + CNI 1.1 GC).
// Records that exist, even unreadable ones, keep theirs.
void PodManager::CollectNetworkGarbage(const std::map<std::string, bool>& known) {
  const PluginHandle* h = plugins_.Find(BERTH_PLUGIN_TYPE_NETWORK, options_.network_plugin);
  if (h == nullptr) return;
  std::vector<std::string> valid;
  for (const auto& [id, _] : known) valid.push_back(id);
  Result<std::vector<std::string>> freed = NetworkClient(h).GC(valid);
  if (!freed.ok()) {
    logger_.Warn("network garbage collection failed", {{"error", freed.status().message()}});
    return;
  }
  for (const std::string& id : *freed)
    logger_.Info("freed the network of a pod without a record", {{"pod", id}});
}

Status PodManager::Recover() {
  BERTH_RETURN_IF_ERROR(MakeDirs(options_.root + "/pods", 0700).Wrap("pod records directory"));
  BERTH_RETURN_IF_ERROR(MakeDirs(options_.state + "/pods", 0711).Wrap("pod state directory"));
  std::map<std::string, bool> known;  // record ids (kept or not)
  for (const std::string& id : ListDir(options_.root + "/pods")) {
    std::string path = RecordDir(id) + "/pod.json";
    auto text = ReadFile(path);
    if (!text.ok()) {
      if (text.status().code() == StatusCode::kNotFound) {
        // A crash between making the directory and writing the first record: nothing else
        // was created yet.
        RemoveAtomicWriteLeftovers(RecordDir(id));
        (void)RemoveDir(RecordDir(id));
        continue;
      }
      logger_.Error("cannot read pod record", {{"path", path}, {"error", text.status().message()}});
      known[id] = true;
      continue;
    }
    auto json = ParseJson(*text, path);
    auto rec = json.ok() ? PodRecord::FromJson(*json, path) : Result<PodRecord>(json.status());
    if (!rec.ok() || rec->view.id != id) {
      logger_.Error("skipping a pod record that does not parse",
                    {{"path", path}, {"error", rec.ok() ? "id mismatch" : rec.status().message()}});
      known[id] = true;
      continue;
    }
    known[id] = true;
    PodRecord r = std::move(rec).value();
    if (r.creating) {
      Status d = Destroy(r);
      if (d.ok()) {
        logger_.Info("removed a pod sandbox left half-created by a crash", {{"pod", id}});
      } else {
        logger_.Error("cannot clean up a half-created pod sandbox; retrying at the next start",
                      {{"pod", id}, {"error", d.message()}});
      }
      continue;
    }
    bool alive = r.view.host_network ? ::access(StateDir(id).c_str(), F_OK) == 0
                                     : IsNamespaceMount(r.view.netns_path);
    // Reconnecting also lets a later Stop or Remove reach the task through its runtime plugin.
    if (r.infra_task && infra_ != nullptr && !infra_->Reconnect(r.view)) alive = false;
    if (r.view.infra_pid != 0) alive = alive && InfraAlive({r.view.infra_pid, r.infra_start_time});
    if (r.view.state == PodState::kReady && !alive) {
      r.view.state = PodState::kNotReady;
      if (Status s = Save(r); !s.ok()) {
        logger_.Warn("cannot record a pod as not ready", {{"pod", id}, {"error", s.message()}});
      }
      logger_.Info("pod sandbox lost its namespaces (reboot?); now NOTREADY", {{"pod", id}});
    }
    auto entry = std::make_shared<Entry>();
    entry->record = r;
    names_[NameKey(r.view.config.metadata())] = id;
    pods_[id] = std::move(entry);
  }
  // State without a record: a crash while undoing a pod after its record was gone.
  for (const std::string& id : ListDir(options_.state + "/pods")) {
    if (known.count(id)) continue;
    std::string dir = StateDir(id);
    // Its infra container (in the default runtime: which one it used was only in the record)
    // and its cgroup under berth's default parent (likewise) go too.
    Status s = OkStatus();
    if (infra_ != nullptr) {
      PodView lost;
      lost.id = id;
      if (auto h = handlers_.Resolve(""); h.ok()) lost.runtime_plugin = h->plugin;
      s = infra_->Remove(lost);
    }
    if (s.ok()) s = RemovePodCgroup(ExistingDefaultPodCgroup(id));
    if (s.ok()) s = DestroyPodNamespaces(dir + "/ns");
    if (s.ok()) s = UnmountPodShm(dir + "/shm");
    for (const char* f : {"hostname", "hosts", "resolv.conf"}) {
      if (s.ok()) s = RemoveFile(dir + "/" + f);
    }
    if (s.ok()) RemoveAtomicWriteLeftovers(dir);
    if (s.ok()) s = RemoveDir(dir);
    if (!s.ok()) {
      logger_.Warn("cannot remove leftover pod state", {{"dir", dir}, {"error", s.message()}});
    }
  }
  CollectNetworkGarbage(known);
  logger_.Info("pod sandboxes loaded", {{"pods", static_cast<unsigned long>(pods_.size())}});
  return OkStatus();
}

}  // namespace berth
