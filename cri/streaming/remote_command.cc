#include "cri/streaming/remote_command.h"

#include <strings.h>

#include <algorithm>

#include <nlohmann/json.hpp>

namespace berth::streaming {

uint64_t CancelSource::OnCancel(std::function<void()> fn) {
  std::unique_lock lock(mu_);
  uint64_t h = next_++;
  if (cancelled_) {
    lock.unlock();
    fn();
    return h;
  }
  callbacks_.emplace(h, std::move(fn));
  return h;
}

void CancelSource::Unregister(uint64_t handle) {
  std::unique_lock lock(mu_);
  callbacks_.erase(handle);
  // A callback running on another thread may still use what the caller is about to free.
  cv_.wait(lock,
           [&] { return running_ != handle || firing_thread_ == std::this_thread::get_id(); });
}

bool CancelSource::Cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

void CancelSource::Fire() {
  std::unique_lock lock(mu_);
  if (cancelled_) return;
  cancelled_ = true;
  firing_thread_ = std::this_thread::get_id();
  while (!callbacks_.empty()) {
    auto it = callbacks_.begin();
    running_ = it->first;
    std::function<void()> fn = std::move(it->second);
    callbacks_.erase(it);
    lock.unlock();
    fn();
    lock.lock();
    running_ = 0;
    cv_.notify_all();
  }
  firing_thread_ = {};
}

namespace {

// The end of the first complete JSON value in `s` (an object or array; strings and escapes
// respected), or npos when it is not complete yet.
size_t EndOfJsonValue(const std::string& s) {
  int depth = 0;
  bool in_string = false, escaped = false, started = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
      started = true;
    } else if (c == '}' || c == ']') {
      if (--depth <= 0) return i + 1;
    } else if (!started && c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      return i + 1;  // not an object: hand it to the parser, which refuses it
    }
  }
  return std::string::npos;
}

uint16_t SizeField(const nlohmann::json& obj, const char* name) {
  for (const auto& [key, value] : obj.items()) {
    if (::strcasecmp(key.c_str(), name) != 0 || !value.is_number()) continue;
    double v = value.get<double>();
    return static_cast<uint16_t>(std::clamp(v, 0.0, 65535.0));
  }
  return 0;
}

}  // namespace

void JsonResizeChannel::Stop() {
  ended_ = true;
  in_.Stop();
}

bool JsonResizeChannel::Next(TerminalSize* size) {
  while (!ended_) {
    size_t end = EndOfJsonValue(buf_);
    if (end != std::string::npos) {
      auto obj = nlohmann::json::parse(std::string_view(buf_).substr(0, end), nullptr, false);
      buf_.erase(0, end);
      if (obj.is_discarded() || !obj.is_object()) {
        ended_ = true;
        break;
      }
      size->width = SizeField(obj, "Width");
      size->height = SizeField(obj, "Height");
      return true;
    }
    if (buf_.size() > size_t{64} * 1024) {  // no terminal size is that long
      ended_ = true;
      break;
    }
    char tmp[4096];
    size_t n = in_.Read(tmp, sizeof(tmp));
    if (n == 0) {
      ended_ = true;
      break;
    }
    buf_.append(tmp, n);
  }
  return false;
}

std::string SuccessStatusJson() {
  nlohmann::ordered_json j;
  j["metadata"] = nlohmann::ordered_json::object();
  j["status"] = "Success";
  return j.dump();
}

std::string NonZeroExitStatusJson(int exit_code, const std::string& detail) {
  // Field order and names as Go's encoding/json writes metav1.Status (StatusCause.Type is
  // "reason" on the wire); kubectl and crictl read the code from details.causes.
  nlohmann::ordered_json j;
  j["metadata"] = nlohmann::ordered_json::object();
  j["status"] = "Failure";
  j["message"] = "command terminated with non-zero exit code: " + detail;
  j["reason"] = "NonZeroExitCode";
  nlohmann::ordered_json cause;
  cause["reason"] = "ExitCode";
  cause["message"] = std::to_string(exit_code);
  j["details"]["causes"] = nlohmann::ordered_json::array({cause});
  return j.dump();
}

std::string InternalErrorStatusJson(const std::string& message) {
  nlohmann::ordered_json j;
  j["metadata"] = nlohmann::ordered_json::object();
  j["status"] = "Failure";
  j["message"] = "Internal error occurred: " + message;
  j["reason"] = "InternalError";
  nlohmann::ordered_json cause;
  cause["message"] = message;
  j["details"]["causes"] = nlohmann::ordered_json::array({cause});
  j["code"] = 500;
  return j.dump();
}

namespace {

std::string CommandString(const runtime::v1::ExecRequest& req) {
  std::string s = "[";
  for (int i = 0; i < req.cmd_size(); ++i) {
    if (i) s += ' ';
    s += req.cmd(i);
  }
  return s + "]";
}

}  // namespace

int RunRemoteCommand(StreamBackend& backend, const CachedRequest& request, const ExecStreams& io,
                     OutputChannel* error, ErrorFormat format) {
  int exit_code = -1;
  std::string text;  // what goes on the error channel ("" = nothing)
  if (const auto* exec = std::get_if<runtime::v1::ExecRequest>(&request)) {
    std::vector<std::string> cmd(exec->cmd().begin(), exec->cmd().end());
    Result<int> r = backend.Exec(exec->container_id(), cmd, io);
    if (!r.ok()) {
      std::string msg = "error executing command in container: " + r.status().message();
      text = format == ErrorFormat::kStatusJson ? InternalErrorStatusJson(msg) : msg;
    } else {
      exit_code = *r;
      // The detail mirrors containerd's exec error, which kubelet puts after the prefix.
      std::string detail = "error executing command " + CommandString(*exec) + ", exit code " +
                           std::to_string(exit_code);
      if (exit_code == 0) {
        if (format == ErrorFormat::kStatusJson) text = SuccessStatusJson();
      } else if (format == ErrorFormat::kStatusJson) {
        text = NonZeroExitStatusJson(exit_code, detail);
      } else {
        text = "command terminated with non-zero exit code: " + detail;
      }
    }
  } else if (const auto* attach = std::get_if<runtime::v1::AttachRequest>(&request)) {
    Status s = backend.Attach(attach->container_id(), io);
    exit_code = 0;
    if (!s.ok()) {
      std::string msg = "error attaching to container: " + s.message();
      text = format == ErrorFormat::kStatusJson ? InternalErrorStatusJson(msg) : msg;
    } else if (format == ErrorFormat::kStatusJson) {
      text = SuccessStatusJson();
    }
  }
  // Output first, then the status: a client treats the error stream's end as the end.
  if (io.out) io.out->Close();
  if (io.err) io.err->Close();
  if (error) {
    if (!text.empty()) error->Write(text);
    error->Close();
  }
  return exit_code;
}

}  // namespace berth::streaming
