#pragma once
// PluginEventBus: where the events that plugins publish through the host API go (e.g. a
// runtime's "/tasks/exit"). One subscriber, settable at any time.
//
// Thread-safety: every method is safe from any thread. Publish() calls the sink on the
// publishing plugin's thread, outside any lock of the bus, possibly while that plugin is inside
// an Invoke() call: the sink must be thread-safe, must return quickly, and must not Invoke a
// plugin that serialises its calls (it could be the publisher, waiting for this very call).

#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace berth {

class PluginEventBus {
 public:
  // `plugin` is "<type>/<name>" of the publisher; `data` the serialized event message.
  // Everything is borrowed for the duration of the call.
  using Sink =
      std::function<void(std::string_view plugin, std::string_view topic, std::string_view data)>;

  // Replaces the subscriber; nullptr unsubscribes (events are then dropped). A call already in
  // progress finishes with the previous sink.
  void SetSink(Sink sink) {
    auto next = sink ? std::make_shared<const Sink>(std::move(sink)) : nullptr;
    std::lock_guard lock(mu_);
    sink_ = std::move(next);
  }

  // OK when delivered or nobody listens; INTERNAL when the sink threw.
  Status Publish(std::string_view plugin, std::string_view topic, std::string_view data) const {
    std::shared_ptr<const Sink> sink;
    {
      std::lock_guard lock(mu_);
      sink = sink_;
    }
    if (!sink) return OkStatus();
    try {
      (*sink)(plugin, topic, data);
    } catch (const std::exception& e) {
      return Internal(std::string("event subscriber failed: ") + e.what());
    } catch (...) {
      return Internal("event subscriber failed");
    }
    return OkStatus();
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Sink> sink_;
};

}  // namespace berth
