#include "cri/server/image_service.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "cri/server/grpc_status.h"

namespace berth {
namespace {

// containerd's rule: "uid[:gid]" → uid; a name → username; empty → neither.
void SetUser(const std::string& user, runtime::v1::Image* out) {
  if (user.empty()) return;
  std::string u = user.substr(0, user.find(':'));
  if (!u.empty() && u.find_first_not_of("0123456789") == std::string::npos && u.size() < 19) {
    out->mutable_uid()->set_value(std::stoll(u));
  } else {
    out->set_username(u);
  }
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void FillUsage(const image::FsUsage& u, runtime::v1::FilesystemUsage* out) {
  out->set_timestamp(NowNanos());
  out->mutable_fs_id()->set_mountpoint(u.mountpoint);
  out->mutable_used_bytes()->set_value(static_cast<uint64_t>(u.bytes));
  out->mutable_inodes_used()->set_value(static_cast<uint64_t>(u.inodes));
}

}  // namespace

void ImageService::ToCri(const image::ImageRecord& r, runtime::v1::Image* out) const {
  out->set_id(r.id);
  for (const auto& t : r.repo_tags) out->add_repo_tags(t);
  for (const auto& d : r.repo_digests) out->add_repo_digests(d);
  out->set_size(static_cast<uint64_t>(r.size));
  SetUser(r.config.user, out);
  out->mutable_spec()->set_image(r.id);
  out->set_pinned(images_.IsPinned(r));
}

grpc::Status ImageService::MatchingImages(const runtime::v1::ImageFilter& filter,
                                          std::vector<runtime::v1::Image>* out) const {
  const std::string& ref = filter.image().image();
  if (!ref.empty()) {
    auto r = images_.Resolve(ref);
    if (!r.ok()) return ToGrpcStatus(r.status());
    if (*r) ToCri(**r, &out->emplace_back());
    return grpc::Status::OK;
  }
  for (const image::ImageRecord& r : images_.List()) ToCri(r, &out->emplace_back());
  return grpc::Status::OK;
}

grpc::Status ImageService::ListImages(grpc::ServerContext*,
                                      const runtime::v1::ListImagesRequest* req,
                                      runtime::v1::ListImagesResponse* resp) {
  std::vector<runtime::v1::Image> images;
  grpc::Status s = MatchingImages(req->filter(), &images);
  if (!s.ok()) return s;
  for (auto& i : images) *resp->add_images() = std::move(i);
  return grpc::Status::OK;
}

grpc::Status ImageService::StreamImages(grpc::ServerContext* ctx,
                                        const runtime::v1::StreamImagesRequest* req,
                                        grpc::ServerWriter<runtime::v1::StreamImagesResponse>* w) {
  ListStreams::Guard open = list_streams_.Enter(ctx);
  if (!open.ok()) return ListStreamShuttingDown();
  std::vector<runtime::v1::Image> images;
  grpc::Status s = MatchingImages(req->filter(), &images);
  if (!s.ok()) return s;
  return SendInBatches(ctx, w, std::move(images),
                       &runtime::v1::StreamImagesResponse::mutable_images);
}

grpc::Status ImageService::ImageStatus(grpc::ServerContext*,
                                       const runtime::v1::ImageStatusRequest* req,
                                       runtime::v1::ImageStatusResponse* resp) {
  auto r = images_.Resolve(req->image().image());
  if (!r.ok()) return ToGrpcStatus(r.status());
  if (!*r) return grpc::Status::OK;  // absent: no image, no error (kubelet relies on it)
  ToCri(**r, resp->mutable_image());
  if (req->verbose()) {
    nlohmann::json info = {{"id", (*r)->id},
                           {"manifestDigest", (*r)->manifest_digest},
                           {"snapshotter", images_.snapshotter()},
                           {"snapshots", (*r)->snapshots},
                           {"pinned", images_.IsPinned(**r)}};
    auto chain = (*r)->snapshots.find(images_.snapshotter());
    if (chain != (*r)->snapshots.end() && !chain->second.empty()) {
      info["chainID"] = chain->second.back();
    }
    auto cfg = images_.ConfigJson((*r)->id);
    if (cfg.ok()) {
      auto j = nlohmann::json::parse(*cfg, nullptr, false);
      if (!j.is_discarded()) info["imageSpec"] = std::move(j);
    }
    (*resp->mutable_info())["info"] = info.dump();
  }
  return grpc::Status::OK;
}

grpc::Status ImageService::PullImage(grpc::ServerContext*, const runtime::v1::PullImageRequest* req,
                                     runtime::v1::PullImageResponse* resp) {
  image::registry::AuthConfig auth;
  const auto& a = req->auth();
  auth.username = a.username();
  auth.password = a.password();
  auth.auth = a.auth();
  auth.server_address = a.server_address();
  auth.identity_token = a.identity_token();
  auth.registry_token = a.registry_token();
  if (!auth.auth.empty() && auth.username.empty()) {
    // Refuse a malformed "auth" up front with a clear message rather than at the 401.
    auto up = auth.UserPass();
    if (!up.ok()) return ToGrpcStatus(up.status().Wrap("auth"));
  }
  auto r = images_.Pull(req->image().image(), auth);
  if (!r.ok()) return ToGrpcStatus(r.status());
  resp->set_image_ref(r->id);
  return grpc::Status::OK;
}

grpc::Status ImageService::RemoveImage(grpc::ServerContext*,
                                       const runtime::v1::RemoveImageRequest* req,
                                       runtime::v1::RemoveImageResponse*) {
  return ToGrpcStatus(images_.Remove(req->image().image()));
}

grpc::Status ImageService::ImageFsInfo(grpc::ServerContext*, const runtime::v1::ImageFsInfoRequest*,
                                       runtime::v1::ImageFsInfoResponse* resp) {
  FillUsage(images_.ImageFsUsage(), resp->add_image_filesystems());
  FillUsage(images_.ContainerFsUsage(), resp->add_container_filesystems());
  return grpc::Status::OK;
}

}  // namespace berth
