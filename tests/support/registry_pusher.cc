#include "tests/support/registry_pusher.h"

#include <nlohmann/json.hpp>

#include "common/fs.h"

namespace berth::testing {
namespace {

using image::registry::HttpRequest;
using image::registry::HttpResponse;
using image::registry::PerformHttp;

Result<HttpResponse> Do(const PushTarget& t, HttpRequest req, long want) {
  if (!t.authorization.empty()) req.headers.push_back("Authorization: " + t.authorization);
  req.max_body = 64 << 20;
  HttpResponse r = PerformHttp(req, t.tls, {});
  if (!r.transport_ok()) return Unavailable(req.method + " " + req.url + ": " + r.curl_error);
  if (r.status != want) {
    return Internal(req.method + " " + req.url + ": HTTP " + std::to_string(r.status) + " " +
                    r.body.substr(0, 300));
  }
  return r;
}

Status PushBlob(const PushTarget& t, const std::string& layout, const std::string& digest) {
  std::string hex = digest.substr(digest.find(':') + 1);
  auto data = ReadFile(layout + "/blobs/sha256/" + hex);
  if (!data.ok()) return data.status();
  HttpRequest start;
  start.method = "POST";
  start.url = t.base_url + "/v2/" + t.repository + "/blobs/uploads/";
  auto r = Do(t, start, 202);
  if (!r.ok()) return r.status();
  std::string loc = r->Header("location");
  if (loc.rfind("http", 0) != 0) loc = t.base_url + loc;
  HttpRequest put;
  put.method = "PUT";
  put.url = loc + (loc.find('?') == std::string::npos ? "?" : "&") + "digest=" + digest;
  put.headers.push_back("Content-Type: application/octet-stream");
  put.body = std::move(*data);
  return Do(t, put, 201).status();
}

Status PutManifest(const PushTarget& t, const std::string& ref, const std::string& media_type,
                   const std::string& body) {
  HttpRequest put;
  put.method = "PUT";
  put.url = t.base_url + "/v2/" + t.repository + "/manifests/" + ref;
  put.headers.push_back("Content-Type: " + media_type);
  put.body = body;
  return Do(t, put, 201).status();
}

}  // namespace

Result<std::string> PushOciLayout(const std::string& layout, const PushTarget& t) {
  auto index_text = ReadFile(layout + "/index.json");
  if (!index_text.ok()) return index_text.status();
  auto index = nlohmann::json::parse(*index_text);
  const auto& desc = index["manifests"][0];
  std::string mdigest = desc["digest"];
  auto manifest_text = ReadFile(layout + "/blobs/sha256/" + mdigest.substr(7));
  if (!manifest_text.ok()) return manifest_text.status();
  auto manifest = nlohmann::json::parse(*manifest_text);
  BERTH_RETURN_IF_ERROR(PushBlob(t, layout, manifest["config"]["digest"]));
  for (const auto& l : manifest["layers"]) BERTH_RETURN_IF_ERROR(PushBlob(t, layout, l["digest"]));
  std::string mt = desc["mediaType"];
  BERTH_RETURN_IF_ERROR(PutManifest(t, t.tag, mt, *manifest_text));
  if (!t.index_tag.empty()) {
    index["mediaType"] = "application/vnd.oci.image.index.v1+json";
    BERTH_RETURN_IF_ERROR(
        PutManifest(t, t.index_tag, "application/vnd.oci.image.index.v1+json", index.dump()));
  }
  return mdigest;
}

}  // namespace berth::testing
