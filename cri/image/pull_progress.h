#pragma once
// PullProgressHub: the per-layer progress of pulls in flight, for berth.v1.Images/WatchPull.
//
// The puller Begin()s a pull under its normalised reference, Update()s layers as they move
// (waiting → downloading → unpacking → done/failed) and Finish()es it once; a watcher gets a
// snapshot after every change and a last one with done=true. A reference nobody is pulling has
// no entry: Watch() returns at once. Thread-safe (one mutex, one condition variable).

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace berth::image {

struct PullLayerState {
  // Numbered as berth.v1.LayerProgress.State.
  enum State {
    kUnknown = 0,
    kWaiting = 1,
    kDownloading = 2,
    kUnpacking = 3,
    kDone = 4,
    kFailed = 5
  };
  std::string digest;
  int64_t size = 0;
  int64_t downloaded = 0;
  State state = kWaiting;
};

struct PullSnapshot {
  std::string image;
  std::vector<PullLayerState> layers;
  bool done = false;
  std::string error;
  std::string image_ref;
  uint64_t version = 0;
};

class PullProgressHub {
 public:
  class Entry;
  std::shared_ptr<Entry> Begin(const std::string& image);
  // Adds the layer when new; a layer already kDone is not moved back.
  void Update(const std::shared_ptr<Entry>& e, const PullLayerState& layer);
  void Finish(const std::shared_ptr<Entry>& e, const std::string& error,
              const std::string& image_ref);

  // Sends snapshots of the pull of `image` until it finishes, `send` returns false, or
  // `cancelled` returns true (polled a few times a second).
  void Watch(const std::string& image, const std::function<bool(const PullSnapshot&)>& send,
             const std::function<bool()>& cancelled);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Entry>> active_;  // guarded by mu_
};

class PullProgressHub::Entry {
 private:
  friend class PullProgressHub;
  PullSnapshot snap;  // guarded by the hub's mu_
};

}  // namespace berth::image
