#pragma once
// Pull progress for `berthctl pull`: while CRI PullImage runs, a thread follows berthd's
// berth.v1.Images/WatchPull stream and draws it.
//
// On a terminal there is one bar per layer, redrawn in place; otherwise one plain line each
// time a layer changes state (so logs stay short). Progress is best effort: an endpoint that
// does not implement WatchPull (any CRI runtime but berthd) shows nothing and is no error, and
// a failing stream never fails the pull.

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/client_context.h>

#include "images.grpc.pb.h"

namespace berth::cli {

// "sha256:0123456789abcdef…" → "0123456789ab" (docker's short layer id); other forms are cut
// to 12 characters after their algorithm prefix.
std::string ShortLayerId(const std::string& digest);

// One layer as a bar line (no newline), e.g.
//   "0123456789ab: Downloading [=========>          ]  1.21MB/2.42MB"
// `bar_width` is the number of cells between the brackets.
std::string LayerBarLine(const ::berth::v1::LayerProgress& layer, int bar_width = 30);

// One layer as a plain line (no newline): "0123456789ab: Downloading (2.42MB)", "…: Done".
std::string LayerPlainLine(const ::berth::v1::LayerProgress& layer);

// Draws successive PullProgress messages on `out`. Not thread-safe; PullWatcher serialises.
class ProgressRenderer {
 public:
  ProgressRenderer(std::ostream& out, bool terminal) : out_(out), terminal_(terminal) {}
  void Update(const ::berth::v1::PullProgress& progress);

 private:
  std::ostream& out_;
  bool terminal_;
  int lines_drawn_ = 0;             // terminal: bars on screen
  std::vector<std::string> order_;  // layers in order of appearance
  std::map<std::string, ::berth::v1::LayerProgress::State> last_state_;  // plain mode
};

class PullWatcher {
 public:
  // `stub` (borrowed) must outlive the watcher; `renderer` too.
  PullWatcher(::berth::v1::Images::Stub& stub, std::string image, ProgressRenderer& renderer);
  ~PullWatcher();  // Stop()s
  PullWatcher(const PullWatcher&) = delete;
  PullWatcher& operator=(const PullWatcher&) = delete;

  void Start();
  // Cancels the stream and joins the thread; idempotent. Nothing is drawn after it returns.
  void Stop();
  // Why progress was not shown, for --debug; read after Stop() (the thread writes no stream
  // but `out`, so that its lines never interleave with the main thread's traces).
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  void Run();

  ::berth::v1::Images::Stub& stub_;
  std::string image_;
  ProgressRenderer& renderer_;
  std::vector<std::string> notes_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  grpc::ClientContext* current_ = nullptr;  // the open stream's context, under mu_
  std::thread thread_;
};

}  // namespace berth::cli
