#pragma once
// runtime.v1.ImageService: the CRI image RPCs, as thin adapters over ImageManager (which owns
// the semantics: normalisation, single-flight pulls, tag moves, garbage collection). Errors map
// 1:1 to gRPC codes (grpc_status.h). Handlers run concurrently on gRPC's threads; the manager
// is thread-safe and must outlive the service.

#include <vector>

#include "api/cri.h"
#include "cri/image/image_manager.h"
#include "cri/server/list_stream.h"

namespace berth {

class ImageService final : public runtime::v1::ImageService::Service {
 public:
  explicit ImageService(image::ImageManager& images) : images_(images) {}

  grpc::Status ListImages(grpc::ServerContext*, const runtime::v1::ListImagesRequest*,
                          runtime::v1::ListImagesResponse*) override;
  // ListImages split over several responses (list_stream.h), same filter and code path.
  grpc::Status StreamImages(grpc::ServerContext*, const runtime::v1::StreamImagesRequest*,
                            grpc::ServerWriter<runtime::v1::StreamImagesResponse>*) override;
  grpc::Status ImageStatus(grpc::ServerContext*, const runtime::v1::ImageStatusRequest*,
                           runtime::v1::ImageStatusResponse*) override;
  grpc::Status PullImage(grpc::ServerContext*, const runtime::v1::PullImageRequest*,
                         runtime::v1::PullImageResponse*) override;
  grpc::Status RemoveImage(grpc::ServerContext*, const runtime::v1::RemoveImageRequest*,
                           runtime::v1::RemoveImageResponse*) override;
  grpc::Status ImageFsInfo(grpc::ServerContext*, const runtime::v1::ImageFsInfoRequest*,
                           runtime::v1::ImageFsInfoResponse*) override;

  // berthd's shutdown: ends open StreamImages calls and refuses new ones (UNAVAILABLE).
  void CloseStreams() { list_streams_.CloseAll(); }

 private:
  void ToCri(const image::ImageRecord& r, runtime::v1::Image* out) const;
  // ListImages and StreamImages: the images matching `filter` (one image by reference, or all).
  grpc::Status MatchingImages(const runtime::v1::ImageFilter& filter,
                              std::vector<runtime::v1::Image>* out) const;

  image::ImageManager& images_;
  ListStreams list_streams_;
};

}  // namespace berth
