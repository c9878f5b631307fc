#include "cli/connection.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "cli/duration.h"

namespace berth::cli {
namespace {

// Image lists and container status can be large; crictl allows 16 MiB responses.
constexpr int kMaxMessageBytes = 16 * 1024 * 1024;

}  // namespace

Connection::Connection(const Options& options, DebugLog debug) : options_(options), debug_(debug) {}

void Connection::Trace(const google::protobuf::Message& message, const Status* error) const {
  std::string line = message.GetDescriptor()->name() + ": ";
  line += (error != nullptr && !error->ok()) ? error->message() : MessageToDebugString(message);
  debug_(line);
}

std::shared_ptr<grpc::Channel> Connection::ChannelFor(const std::string& target) {
  auto it = channels_.find(target);
  if (it != channels_.end()) return it->second;
  debug_("connect using endpoint " + target + " with " + FormatDuration(options_.timeout) +
         " timeout");
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  // CRI sockets are local and unauthenticated by design (access is file permissions).
  auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  channels_.emplace(target, channel);
  return channel;
}

::runtime::v1::RuntimeService::Stub& Connection::Runtime() {
  if (!runtime_)
    runtime_ = ::runtime::v1::RuntimeService::NewStub(ChannelFor(options_.runtime_target));
  return *runtime_;
}

::runtime::v1::ImageService::Stub& Connection::Image() {
  if (!image_) image_ = ::runtime::v1::ImageService::NewStub(ChannelFor(options_.image_target));
  return *image_;
}

::berth::v1::Introspection::Stub& Connection::Introspection() {
  if (!introspection_) {
    introspection_ = ::berth::v1::Introspection::NewStub(ChannelFor(options_.runtime_target));
  }
  return *introspection_;
}

::berth::v1::Images::Stub& Connection::Images() {
  if (!images_) images_ = ::berth::v1::Images::NewStub(ChannelFor(options_.image_target));
  return *images_;
}

}  // namespace berth::cli
