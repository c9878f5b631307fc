#include "cli/verbs/pull_progress.h"

#include <algorithm>
#include <chrono>

#include "cli/rpc_status.h"
#include "cli/verbs/image_util.h"

namespace berth::cli {
namespace {

using ::berth::v1::LayerProgress;

const char* StateName(LayerProgress::State state) {
  switch (state) {
    case LayerProgress::STATE_WAITING:
      return "Waiting";
    case LayerProgress::STATE_DOWNLOADING:
      return "Downloading";
    case LayerProgress::STATE_UNPACKING:
      return "Unpacking";
    case LayerProgress::STATE_DONE:
      return "Done";
    case LayerProgress::STATE_FAILED:
      return "Failed";
    default:
      return "Pending";
  }
}

// How long to wait before asking again when the stream ended without the pull's last message
// (WatchPull raced ahead of PullImage, or the stream broke).
constexpr std::chrono::milliseconds kRetryDelay{100};

}  // namespace

std::string ShortLayerId(const std::string& digest) {
  std::string_view d = digest;
  size_t colon = d.find(':');
  if (colon != std::string_view::npos) d.remove_prefix(colon + 1);
  return std::string(d.substr(0, 12));
}

std::string LayerBarLine(const LayerProgress& layer, int bar_width) {
  std::string line = ShortLayerId(layer.digest()) + ": " + StateName(layer.state());
  if (layer.state() == LayerProgress::STATE_WAITING ||
      layer.state() == LayerProgress::STATE_UNKNOWN) {
    return line;
  }
  int64_t size = std::max<int64_t>(layer.size(), 0);
  int64_t done = std::clamp<int64_t>(layer.downloaded(), 0, size > 0 ? size : layer.downloaded());
  if (layer.state() == LayerProgress::STATE_UNPACKING ||
      layer.state() == LayerProgress::STATE_DONE) {
    done = size;
  }
  if (layer.state() == LayerProgress::STATE_DONE) return line + " " + HumanSize(double(size));
  int filled =
      size > 0 ? static_cast<int>(static_cast<double>(done) / double(size) * bar_width) : 0;
  filled = std::clamp(filled, 0, bar_width);
  std::string bar(static_cast<size_t>(bar_width), ' ');
  for (int i = 0; i < filled; ++i) bar[static_cast<size_t>(i)] = '=';
  if (filled < bar_width && filled > 0) bar[static_cast<size_t>(filled)] = '>';
  line += " [" + bar + "]  " + HumanSize(double(done));
  if (size > 0) line += "/" + HumanSize(double(size));
  return line;
}

std::string LayerPlainLine(const LayerProgress& layer) {
  std::string line = ShortLayerId(layer.digest()) + ": " + StateName(layer.state());
  if (layer.state() == LayerProgress::STATE_DOWNLOADING && layer.size() > 0) {
    line += " (" + HumanSize(double(layer.size())) + ")";
  }
  return line;
}

void ProgressRenderer::Update(const ::berth::v1::PullProgress& progress) {
  std::map<std::string, const LayerProgress*> by_digest;
  for (const auto& layer : progress.layers()) {
    by_digest[layer.digest()] = &layer;
    if (std::find(order_.begin(), order_.end(), layer.digest()) == order_.end()) {
      order_.push_back(layer.digest());
    }
  }
  if (!terminal_) {
    for (const std::string& digest : order_) {
      auto it = by_digest.find(digest);
      if (it == by_digest.end()) continue;
      const auto state = it->second->state();
      if (state == LayerProgress::STATE_UNKNOWN) continue;
      auto [last, inserted] = last_state_.try_emplace(digest, state);
      if (!inserted && last->second == state) continue;
      last->second = state;
      out_ << LayerPlainLine(*it->second) << '\n';
    }
    out_.flush();
    return;
  }
  // Move back to the first bar and redraw them all; "\033[K" clears what a longer line left.
  if (lines_drawn_ > 0) out_ << "\033[" << lines_drawn_ << "A";
  static const LayerProgress kPending;
  for (const std::string& digest : order_) {
    auto it = by_digest.find(digest);
    LayerProgress shown = it != by_digest.end() ? *it->second : kPending;
    if (it == by_digest.end()) shown.set_digest(digest);
    out_ << "\r\033[K" << LayerBarLine(shown) << '\n';
  }
  lines_drawn_ = static_cast<int>(order_.size());
  out_.flush();
}

PullWatcher::PullWatcher(::berth::v1::Images::Stub& stub, std::string image,
                         ProgressRenderer& renderer)
    : stub_(stub), image_(std::move(image)), renderer_(renderer) {}

PullWatcher::~PullWatcher() { Stop(); }

void PullWatcher::Start() {
  thread_ = std::thread([this] { Run(); });
}

void PullWatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    if (current_ != nullptr) current_->TryCancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PullWatcher::Run() {
  ::berth::v1::WatchPullRequest request;
  request.set_image(image_);
  for (;;) {
    grpc::ClientContext context;
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      current_ = &context;
    }
    auto reader = stub_.WatchPull(&context, request);
    ::berth::v1::PullProgress progress;
    bool finished = false;
    while (reader->Read(&progress)) {
      std::lock_guard lock(mu_);
      if (stop_) break;
      renderer_.Update(progress);
      if (progress.done()) {
        finished = true;
        break;
      }
    }
    if (finished) context.TryCancel();  // nothing more is wanted from this stream
    Status status = FromGrpcStatus(reader->Finish());
    std::unique_lock lock(mu_);
    current_ = nullptr;
    if (stop_ || finished) return;
    if (IsUnimplemented(status)) {
      notes_.push_back("no pull progress: the endpoint does not serve berth.v1.Images/WatchPull");
      return;
    }
    if (!status.ok() && notes_.size() < 5) notes_.push_back("pull progress: " + status.message());
    cv_.wait_for(lock, kRetryDelay, [this] { return stop_; });
    if (stop_) return;
  }
}

}  // namespace berth::cli
