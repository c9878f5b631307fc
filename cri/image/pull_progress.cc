#include "cri/image/pull_progress.h"

#include <chrono>

namespace berth::image {

std::shared_ptr<PullProgressHub::Entry> PullProgressHub::Begin(const std::string& image) {
  auto e = std::make_shared<Entry>();
  e->snap.image = image;
  std::lock_guard lock(mu_);
  active_[image] = e;
  return e;
}

void PullProgressHub::Update(const std::shared_ptr<Entry>& e, const PullLayerState& layer) {
  std::lock_guard lock(mu_);
  for (PullLayerState& l : e->snap.layers) {
    if (l.digest != layer.digest) continue;
    if (l.state == PullLayerState::kDone && layer.state != PullLayerState::kDone) return;
    l = layer;
    ++e->snap.version;
    cv_.notify_all();
    return;
  }
  e->snap.layers.push_back(layer);
  ++e->snap.version;
  cv_.notify_all();
}

void PullProgressHub::Finish(const std::shared_ptr<Entry>& e, const std::string& error,
                             const std::string& image_ref) {
  std::lock_guard lock(mu_);
  e->snap.done = true;
  e->snap.error = error;
  e->snap.image_ref = image_ref;
  if (!error.empty()) {
    for (PullLayerState& l : e->snap.layers) {
      if (l.state != PullLayerState::kDone) l.state = PullLayerState::kFailed;
    }
  }
  ++e->snap.version;
  auto it = active_.find(e->snap.image);
  if (it != active_.end() && it->second == e) active_.erase(it);
  cv_.notify_all();
}

void PullProgressHub::Watch(const std::string& image,
                            const std::function<bool(const PullSnapshot&)>& send,
                            const std::function<bool()>& cancelled) {
  std::unique_lock lock(mu_);
  auto it = active_.find(image);
  if (it == active_.end()) return;
  std::shared_ptr<Entry> e = it->second;
  uint64_t seen = 0;
  for (;;) {
    cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return e->snap.version != seen; });
    if (e->snap.version == seen) {
      lock.unlock();
      if (cancelled()) return;
      lock.lock();
      continue;
    }
    PullSnapshot copy = e->snap;
    seen = copy.version;
    lock.unlock();
    if (!send(copy) || copy.done || cancelled()) return;
    lock.lock();
  }
}

}  // namespace berth::image
