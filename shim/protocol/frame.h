#pragma once
// Framing of the shim protocol (api/proto/berth/shim/v1/shim.proto): a uint32 big-endian
// length, then that many bytes of one serialized message. Shared by berth-shim (non-blocking,
// through TakeFrame) and its clients (blocking, through SendMessage/ReadMessage).
//
// Thread-compatible free functions; fds are borrowed. Errors: INVALID_ARGUMENT for a frame over
// kMaxFrameSize or a payload that does not parse, UNAVAILABLE when the peer closed,
// DEADLINE_EXCEEDED on timeout, otherwise the errno status.

#include <cstddef>
#include <cstdint>
#include <string>

#include <google/protobuf/message_lite.h>

#include "common/status.h"

namespace berth::shim {

inline constexpr uint32_t kMaxFrameSize = 4u << 20;
inline constexpr size_t kFrameHeaderSize = 4;

// Appends header + payload of `msg` to `out`.
Status AppendFrame(const google::protobuf::MessageLite& msg, std::string* out);

// If `buf` starts with a complete frame: moves its payload into `payload`, erases it from `buf`
// and returns true. False when more bytes are needed. INVALID_ARGUMENT for an oversized length.
Result<bool> TakeFrame(std::string& buf, std::string* payload);

// Writes all of `data` (retrying on EINTR and short writes; MSG_NOSIGNAL on sockets).
Status WriteAll(int fd, const char* data, size_t len);

// Blocking: one frame out.
Status SendMessage(int fd, const google::protobuf::MessageLite& msg);

// Blocking: one frame in, parsed into `msg`. timeout_ms < 0 waits forever. `cancel_fd` (when
// >= 0) aborts the wait with CANCELLED once readable (e.g. an eventfd a destructor signals).
Status ReadMessage(int fd, google::protobuf::MessageLite* msg, int timeout_ms = -1,
                   int cancel_fd = -1);

}  // namespace berth::shim
