#pragma once
// The CRI list-streaming RPCs (StreamPodSandboxes, StreamContainers, StreamContainerStats,
// StreamPodSandboxStats, StreamPodSandboxMetrics, StreamImages; kubelet's CRIListStreaming):
// each is its List* RPC with the same filter and the same code path, its result split over
// several response messages so that no single message hits the client's size limit.
//
// Batching: the proto only says every item is sent exactly once; its responses carry a
// repeated field. Items go out in batches of at most kListStreamMaxItems items and (as
// serialised) about kListStreamMaxBytes bytes; an item larger than that goes alone. The
// bytes cap keeps every message well under gRPC's default 4 MiB client limit (kubelet raises
// its own to 16 MiB), the count cap keeps batches of tiny items bounded. The whole result is
// taken from one snapshot of the manager (as List* does), so an item created or removed
// meanwhile is never sent twice or half.
//
// Ending: the stream ends after the last batch, at once when the result is empty (no message,
// status OK: the client just sees end of stream). It ends early when the client cancels (a
// failed Write or a cancelled context between batches) and when berthd shuts down
// (ListStreams::CloseAll cancels every open call, which also unblocks a Write stuck on a
// client that stopped reading).

#include <cstddef>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/repeated_ptr_field.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>
#include <grpcpp/support/sync_stream.h>

namespace berth {

inline constexpr size_t kListStreamMaxItems = 500;
inline constexpr size_t kListStreamMaxBytes = 1 << 20;  // 1 MiB

// The open list streams of one service, so that berthd's shutdown can end them.
// Thread-safe. A ServerContext is registered for exactly the time its handler runs (Guard),
// so CloseAll never touches a finished call.
class ListStreams {
 public:
  class Guard {
   public:
    Guard(ListStreams* owner, grpc::ServerContext* ctx) : owner_(owner), ctx_(ctx) {}
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    ~Guard() {
      if (owner_ == nullptr) return;
      std::lock_guard l(owner_->mu_);
      owner_->open_.erase(ctx_);
    }
    bool ok() const { return owner_ != nullptr; }

   private:
    ListStreams* owner_;
    grpc::ServerContext* ctx_;
  };

  // Registers a starting stream; a Guard that is not ok() once CloseAll ran (the handler then
  // answers UNAVAILABLE).
  Guard Enter(grpc::ServerContext* ctx) {
    std::lock_guard l(mu_);
    if (closed_) return Guard(nullptr, ctx);
    open_.insert(ctx);
    return Guard(this, ctx);
  }

  // berthd's shutdown: cancels every open stream (TryCancel is safe from any thread) and
  // refuses new ones.
  void CloseAll() {
    std::lock_guard l(mu_);
    closed_ = true;
    for (grpc::ServerContext* ctx : open_) ctx->TryCancel();
  }

 private:
  std::mutex mu_;
  std::set<grpc::ServerContext*> open_;  // guarded by mu_
  bool closed_ = false;                  // guarded by mu_
};

inline grpc::Status ListStreamShuttingDown() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "berthd is shutting down");
}

// Writes `items` in batches (see above) into the repeated field `field` of Response.
// OK when every batch was written; CANCELLED when the client went away or berthd is shutting
// down (the client then sees CANCELLED whatever a handler returns).
template <typename Response, typename Item>
grpc::Status SendInBatches(grpc::ServerContext* ctx, grpc::ServerWriter<Response>* writer,
                           std::vector<Item> items,
                           google::protobuf::RepeatedPtrField<Item>* (Response::*field)()) {
  size_t i = 0;
  while (i < items.size()) {
    if (ctx->IsCancelled()) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "the list stream was cancelled");
    }
    Response batch;
    google::protobuf::RepeatedPtrField<Item>* out = (batch.*field)();
    size_t bytes = 0;
    while (i < items.size() && static_cast<size_t>(out->size()) < kListStreamMaxItems) {
      size_t size = items[i].ByteSizeLong();
      if (out->size() > 0 && bytes + size > kListStreamMaxBytes) break;
      bytes += size;
      *out->Add() = std::move(items[i]);
      ++i;
    }
    if (!writer->Write(batch)) {
      return grpc::Status(grpc::StatusCode::CANCELLED,
                          "the client closed the list stream (or berthd is shutting down)");
    }
  }
  return grpc::Status::OK;
}

}  // namespace berth
