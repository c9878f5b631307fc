#include "cri/image/unpack_pipeline.h"

namespace berth::image {

UnpackPipeline::UnpackPipeline(std::vector<Descriptor> layers, std::string config_json, RunFn run)
    : layers_(std::move(layers)),
      config_json_(std::move(config_json)),
      ready_(layers_.size(), false) {
  thread_ = std::thread([this, run = std::move(run)] {
    auto r = run([this](size_t i) { return WaitFor(i); });
    std::lock_guard lock(mu_);
    result_ = std::move(r);
  });
}

UnpackPipeline::~UnpackPipeline() {
  Cancel(Status(StatusCode::kCancelled, "pull abandoned"));
  if (thread_.joinable()) thread_.join();
}

void UnpackPipeline::MarkReady(const Digest& digest) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (layers_[i].digest == digest) ready_[i] = true;  // a blob may be listed twice
  }
  cv_.notify_all();
}

void UnpackPipeline::Cancel(Status why) {
  std::lock_guard lock(mu_);
  if (cancelled_.ok())
    cancelled_ = why.ok() ? Status(StatusCode::kCancelled, "pull cancelled") : std::move(why);
  cv_.notify_all();
}

Status UnpackPipeline::WaitFor(size_t index) {
  std::unique_lock lock(mu_);
  if (index >= ready_.size()) return Internal("layer index out of range");
  cv_.wait(lock, [&] { return ready_[index] || !cancelled_.ok(); });
  // A ready layer still unpacks after a cancel only if it was ready before: cancel wins.
  return cancelled_.ok() ? OkStatus() : cancelled_;
}

Result<std::vector<std::string>> UnpackPipeline::Wait() {
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  return std::move(result_);
}

}  // namespace berth::image
