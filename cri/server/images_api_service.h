#pragma once
// berth.v1.Images (api/proto/berth/v1/images.proto): Import from files on this host and
// WatchPull progress, over ImageManager. Handlers run concurrently on gRPC's threads; the
// manager must outlive the service.

#include "cri/image/image_manager.h"
#include "images.grpc.pb.h"

namespace berth {

class ImagesApiService final : public berth::v1::Images::Service {
 public:
  explicit ImagesApiService(image::ImageManager& images) : images_(images) {}

  grpc::Status Import(grpc::ServerContext*, const berth::v1::ImportImageRequest*,
                      berth::v1::ImportImageResponse*) override;
  grpc::Status WatchPull(grpc::ServerContext*, const berth::v1::WatchPullRequest*,
                         grpc::ServerWriter<berth::v1::PullProgress>*) override;

 private:
  image::ImageManager& images_;
};

}  // namespace berth
