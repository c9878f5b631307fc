#include "cri/server/images_api_service.h"

#include "cri/image/reference.h"
#include "cri/server/grpc_status.h"

namespace berth {

grpc::Status ImagesApiService::Import(grpc::ServerContext*,
                                      const berth::v1::ImportImageRequest* req,
                                      berth::v1::ImportImageResponse* resp) {
  auto r = images_.Import(req->path(), req->name());
  if (!r.ok()) return ToGrpcStatus(r.status());
  for (const image::ImageRecord& rec : *r) {
    auto* out = resp->add_images();
    out->set_id(rec.id);
    for (const auto& t : rec.repo_tags) out->add_repo_tags(t);
    for (const auto& d : rec.repo_digests) out->add_repo_digests(d);
  }
  return grpc::Status::OK;
}

grpc::Status ImagesApiService::WatchPull(grpc::ServerContext* ctx,
                                         const berth::v1::WatchPullRequest* req,
                                         grpc::ServerWriter<berth::v1::PullProgress>* writer) {
  auto ref = image::ParseReference(req->image());
  if (!ref.ok()) return ToGrpcStatus(ref.status());
  images_.progress().Watch(
      ref->String(),
      [&](const image::PullSnapshot& s) {
        berth::v1::PullProgress p;
        p.set_image(s.image);
        for (const image::PullLayerState& l : s.layers) {
          auto* lp = p.add_layers();
          lp->set_digest(l.digest);
          lp->set_size(l.size);
          lp->set_downloaded(l.downloaded);
          lp->set_state(static_cast<berth::v1::LayerProgress::State>(l.state));
        }
        p.set_done(s.done);
        p.set_error(s.error);
        p.set_image_ref(s.image_ref);
        return writer->Write(p);
      },
      [&] { return ctx->IsCancelled(); });
  return grpc::Status::OK;
}

}  // namespace berth
