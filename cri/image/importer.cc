#include "cri/image/importer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "cri/image/reference.h"

namespace berth::image {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kMaxMetadataSize = int64_t{16} << 20;

// "a/./b/" → "a/b"; "" for names that are absolute or climb out.
std::string CleanName(std::string_view name) {
  if (name.empty() || name[0] == '/') return "";
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t slash = name.find('/', pos);
    if (slash == std::string_view::npos) slash = name.size();
    std::string part(name.substr(pos, slash - pos));
    pos = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) return "";
      parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

Status WriteEntry(archive* a, const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ErrnoStatus(errno, "create " + path);
  char buf[1 << 16];
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      ::close(fd);
      return Status(StatusCode::kDataLoss, std::string("read archive: ") + archive_error_string(a));
    }
    size_t off = 0;
    while (off < static_cast<size_t>(n)) {
      ssize_t w = ::write(fd, buf + off, static_cast<size_t>(n) - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        return ErrnoStatus(err, "write " + path);
      }
      off += static_cast<size_t>(w);
    }
  }
  if (::close(fd) != 0) return ErrnoStatus(errno, "close " + path);
  return OkStatus();
}

// Unpacks the archive's regular files (and, as copies, symlinks to them) into `dir`.
Status ExtractArchive(const std::string& path, const std::string& dir) {
  archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  struct Closer {
    archive* a;
    ~Closer() { archive_read_free(a); }
  } closer{a};
  if (archive_read_open_filename(a, path.c_str(), 1 << 16) != ARCHIVE_OK) {
    return InvalidArgument(path +
                           " is not an OCI layout directory, OCI layout tar or docker-save "
                           "tar: " +
                           archive_error_string(a));
  }
  std::map<std::string, std::string> links;  // link name → target name (cleaned)
  int entries = 0;
  for (;;) {
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(a, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      return InvalidArgument(path + ": not a readable tar archive: " + archive_error_string(a));
    }
    ++entries;
    const char* raw = archive_entry_pathname(e);
    std::string name = CleanName(raw ? raw : "");
    mode_t type = archive_entry_filetype(e);
    if (type == AE_IFDIR) continue;
    if (name.empty()) {
      return InvalidArgument(path + ": entry \"" + std::string(raw ? raw : "") +
                             "\" has an absolute or escaping path");
    }
    if (type == AE_IFLNK || archive_entry_hardlink(e)) {
      const char* t =
          archive_entry_hardlink(e) ? archive_entry_hardlink(e) : archive_entry_symlink(e);
      std::string target = t ? std::string(t) : "";
      std::string resolved = archive_entry_hardlink(e)
                                 ? CleanName(target)
                                 : CleanName(fs::path(name).parent_path().string() + "/" + target);
      if (!resolved.empty()) links[name] = resolved;
      continue;
    }
    if (type != AE_IFREG) continue;
    std::string out = dir + "/" + name;
    BERTH_RETURN_IF_ERROR(MakeDirs(fs::path(out).parent_path().string(), 0700));
    BERTH_RETURN_IF_ERROR(WriteEntry(a, out));
  }
  if (entries == 0) return InvalidArgument(path + ": empty or not a tar archive");
  for (const auto& [name, target] : links) {
    std::string out = dir + "/" + name, src = dir + "/" + target;
    BERTH_RETURN_IF_ERROR(MakeDirs(fs::path(out).parent_path().string(), 0700));
    if (::link(src.c_str(), out.c_str()) != 0 && errno != ENOENT && errno != EEXIST) {
      return ErrnoStatus(errno, "link " + out);
    }
  }
  return OkStatus();
}

Status CopyBlob(ContentStore& store, const std::string& file, const Digest& digest, int64_t size) {
  auto r = store.Ensure(digest, size, [&](Writer& w) -> Status {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return ErrnoStatus(errno, "open " + file);
    if (::lseek(fd, w.offset(), SEEK_SET) < 0) {
      ::close(fd);
      return ErrnoStatus(errno, "seek " + file);
    }
    char buf[1 << 16];
    Status st;
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        st = ErrnoStatus(errno, "read " + file);
        break;
      }
      if (n == 0) break;
      st = w.Write(std::string_view(buf, static_cast<size_t>(n)));
      if (!st.ok()) break;
    }
    ::close(fd);
    return st;
  });
  return r.status().Wrap("import blob " + digest.String());
}

std::string BlobFile(const std::string& dir, const Digest& d) {
  return dir + "/blobs/" + std::string(d.algorithm_name()) + "/" + d.hex();
}

Result<std::string> ReadSmall(const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return NotFound(path + ": " + ec.message());
  if (static_cast<int64_t>(size) > kMaxMetadataSize) {
    return Status(StatusCode::kResourceExhausted, path + " is too large");
  }
  return ReadFile(path);
}

// Reads, verifies and stores a small blob of the layout.
Result<std::string> LayoutBlob(ContentStore& store, const std::string& dir, const Descriptor& d) {
  auto text = ReadSmall(BlobFile(dir, d.digest));
  if (!text.ok()) return text.status().Wrap("OCI layout blob " + d.digest.String());
  BERTH_RETURN_IF_ERROR(store.Put(d.digest, *text));
  return text;
}

std::string NameFromAnnotations(const json& desc, const std::string& fallback) {
  auto ann = desc.find("annotations");
  if (ann != desc.end() && ann->is_object()) {
    if (auto c = ann->find("io.containerd.image.name"); c != ann->end() && c->is_string()) {
      auto r = ParseReference(c->get<std::string>());
      if (r.ok()) return r->String();
    }
    if (auto c = ann->find("org.opencontainers.image.ref.name");
        c != ann->end() && c->is_string()) {
      std::string v = c->get<std::string>();
      // A bare tag ("latest") names no repository; a full reference does.
      if (v.find('/') != std::string::npos || v.find(':') != std::string::npos) {
        auto r = ParseReference(v);
        if (r.ok()) return r->String();
      }
    }
  }
  return fallback;
}

Result<std::vector<LocalImage>> ImportOciLayout(const std::string& dir, const std::string& name,
                                                ContentStore& store, const Platform& platform) {
  auto text = ReadSmall(dir + "/index.json");
  if (!text.ok()) return text.status();
  json index = json::parse(*text, nullptr, false);
  if (index.is_discarded() || !index.is_object() || !index.contains("manifests") ||
      !index["manifests"].is_array()) {
    return InvalidArgument("OCI layout index.json has no manifests array");
  }
  std::vector<LocalImage> out;
  std::map<std::string, size_t> by_manifest;  // manifest digest → index in out
  for (const json& entry : index["manifests"]) {
    auto parsed_top = ParseManifest(json{{"schemaVersion", 2},
                                         {"mediaType", "application/vnd.oci.image.index.v1+json"},
                                         {"manifests", json::array({entry})}}
                                        .dump(),
                                    "");
    if (!parsed_top.ok()) return parsed_top.status().Wrap("OCI layout index.json");
    Descriptor desc = std::get<ImageIndex>(*parsed_top).manifests[0];
    LocalImage img;
    std::string img_name = NameFromAnnotations(entry, name);
    auto body = LayoutBlob(store, dir, desc);
    if (!body.ok()) return body.status();
    auto parsed = ParseManifest(*body, desc.media_type);
    if (!parsed.ok()) return parsed.status().Wrap("manifest " + desc.digest.String());
    if (auto* idx = std::get_if<ImageIndex>(&*parsed)) {
      img.index_digest = desc.digest;
      auto chosen = SelectPlatform(*idx, platform);
      if (!chosen.ok()) return chosen.status();
      desc = *chosen;
      body = LayoutBlob(store, dir, desc);
      if (!body.ok()) return body.status();
      parsed = ParseManifest(*body, desc.media_type);
      if (!parsed.ok()) return parsed.status().Wrap("manifest " + desc.digest.String());
      if (!std::holds_alternative<ImageManifest>(*parsed)) {
        return Unimplemented("nested indexes are not supported");
      }
    }
    auto& m = std::get<ImageManifest>(*parsed);
    img.manifest_digest = desc.digest;
    img.manifest_size = static_cast<int64_t>(body->size());
    auto cfg = LayoutBlob(store, dir, m.config);
    if (!cfg.ok()) return cfg.status();
    img.config_digest = m.config.digest;
    img.config_json = std::move(*cfg);
    for (const Descriptor& l : m.layers) {
      BERTH_RETURN_IF_ERROR(CopyBlob(store, BlobFile(dir, l.digest), l.digest, l.size));
    }
    img.layers = m.layers;
    auto seen = by_manifest.find(img.manifest_digest.String());
    if (seen != by_manifest.end()) {
      if (!img_name.empty()) out[seen->second].names.push_back(img_name);
      continue;
    }
    if (!img_name.empty()) img.names.push_back(img_name);
    by_manifest[img.manifest_digest.String()] = out.size();
    out.push_back(std::move(img));
  }
  if (out.empty()) return InvalidArgument("OCI layout index.json lists no images");
  return out;
}

Result<std::vector<LocalImage>> ImportDockerSave(const std::string& dir, const std::string& name,
                                                 ContentStore& store) {
  auto text = ReadSmall(dir + "/manifest.json");
  if (!text.ok()) return text.status();
  json top = json::parse(*text, nullptr, false);
  if (top.is_discarded() || !top.is_array() || top.empty()) {
    return InvalidArgument("docker-save manifest.json is not a non-empty array");
  }
  std::vector<LocalImage> out;
  for (const json& e : top) {
    if (!e.is_object() || !e.contains("Config") || !e["Config"].is_string() ||
        !e.contains("Layers") || !e["Layers"].is_array()) {
      return InvalidArgument("docker-save manifest.json: entry without Config/Layers");
    }
    std::string cfg_name = CleanName(e["Config"].get<std::string>());
    if (cfg_name.empty()) return InvalidArgument("docker-save manifest.json: bad Config path");
    auto cfg = ReadSmall(dir + "/" + cfg_name);
    if (!cfg.ok()) return cfg.status().Wrap("docker-save config");
    LocalImage img;
    img.config_digest = DigestOf(*cfg);
    img.config_json = *cfg;
    BERTH_RETURN_IF_ERROR(store.Put(img.config_digest, *cfg));
    json cj = json::parse(*cfg, nullptr, false);
    if (cj.is_discarded() || !cj.contains("rootfs") || !cj["rootfs"].contains("diff_ids")) {
      return InvalidArgument("docker-save config " + cfg_name + " has no rootfs.diff_ids");
    }
    const json& diff_ids = cj["rootfs"]["diff_ids"];
    if (!diff_ids.is_array() || diff_ids.size() != e["Layers"].size()) {
      return InvalidArgument("docker-save config " + cfg_name + " lists " +
                             std::to_string(diff_ids.size()) + " diff_ids for " +
                             std::to_string(e["Layers"].size()) + " layers");
    }
    json layers = json::array();
    for (size_t i = 0; i < diff_ids.size(); ++i) {
      if (!diff_ids[i].is_string() || !e["Layers"][i].is_string()) {
        return InvalidArgument("docker-save: layer " + std::to_string(i) + " is not a string");
      }
      auto digest = Digest::Parse(diff_ids[i].get<std::string>());
      if (!digest.ok()) return digest.status().Wrap("docker-save diff_id");
      std::string file = dir + "/" + CleanName(e["Layers"][i].get<std::string>());
      std::error_code ec;
      auto size = fs::file_size(file, ec);
      if (ec) return NotFound("docker-save layer " + file + ": " + ec.message());
      BERTH_RETURN_IF_ERROR(CopyBlob(store, file, *digest, static_cast<int64_t>(size)));
      // The blob is the uncompressed layer, whatever docker compressed it as: detect by magic.
      Descriptor d{"application/vnd.docker.image.rootfs.diff.tar", *digest,
                   static_cast<int64_t>(size), std::nullopt};
      img.layers.push_back(d);
      layers.push_back(
          {{"mediaType", d.media_type}, {"digest", d.digest.String()}, {"size", d.size}});
    }
    std::string manifest = json{
        {"schemaVersion", 2},
        {"mediaType", std::string(media_type::kDockerManifest)},
        {"config",
         {{"mediaType", std::string(media_type::kDockerConfig)},
          {"digest", img.config_digest.String()},
          {"size", cfg->size()}}},
        {"layers", layers}}.dump();
    img.manifest_digest = DigestOf(manifest);
    img.manifest_size = static_cast<int64_t>(manifest.size());
    BERTH_RETURN_IF_ERROR(store.Put(img.manifest_digest, manifest));
    if (e.contains("RepoTags") && e["RepoTags"].is_array()) {
      for (const json& t : e["RepoTags"]) {
        if (!t.is_string()) continue;
        auto r = ParseReference(t.get<std::string>());
        if (r.ok()) img.names.push_back(r->String());
      }
    }
    if (img.names.empty() && !name.empty()) img.names.push_back(name);
    out.push_back(std::move(img));
  }
  return out;
}

Result<std::vector<LocalImage>> ImportDir(const std::string& dir, const std::string& name,
                                          ContentStore& store, const Platform& platform,
                                          const std::string& shown) {
  if (fs::exists(dir + "/index.json")) return ImportOciLayout(dir, name, store, platform);
  if (fs::exists(dir + "/manifest.json")) return ImportDockerSave(dir, name, store);
  return InvalidArgument(shown +
                         " is not an OCI layout (no index.json) nor a docker-save "
                         "archive (no manifest.json)");
}

}  // namespace

Result<std::vector<LocalImage>> ImportImages(const std::string& path, const std::string& name,
                                             ContentStore& store, const std::string& scratch_dir,
                                             const Platform& platform) {
  if (path.empty() || path[0] != '/') {
    return InvalidArgument("import path \"" + path + "\" must be absolute");
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound("import path " + path + " does not exist");
    return ErrnoStatus(errno, "stat " + path);
  }
  if (S_ISDIR(st.st_mode)) return ImportDir(path, name, store, platform, path);
  if (!S_ISREG(st.st_mode)) return InvalidArgument(path + " is neither a directory nor a file");
  BERTH_RETURN_IF_ERROR(MakeDirs(scratch_dir, 0700));
  BERTH_RETURN_IF_ERROR(ExtractArchive(path, scratch_dir));
  return ImportDir(scratch_dir, name, store, platform, path);
}

}  // namespace berth::image
