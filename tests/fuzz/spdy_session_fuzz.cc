// Fuzz target: a whole server- or client-role Session fed untrusted bytes (as the bytes that
// followed the HTTP upgrade), with the peer gone. Whatever the frames say, the session must
// end cleanly: no crash, no hang, no leak, threads joined.
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/unique_fd.h"
#include "cri/streaming/spdy/session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace berth::streaming::spdy;
  if (size == 0) return 0;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return 0;
  berth::UniqueFd peer(sv[0]);
  SessionOptions options;
  options.server = (data[0] & 0x80) == 0;  // the seeds (first byte < 128) are servers
  options.receive_window = 4096;           // small, so flow-control paths are reachable
  std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  auto session = Session::Start(berth::UniqueFd(sv[1]), std::move(bytes), std::move(options));
  if (auto stream = session->Accept(std::chrono::milliseconds(0))) {
    char buf[64];
    (void)stream->Write("x");
    peer.reset();
    (void)stream->Read(buf, sizeof(buf));
  }
  peer.reset();
  (void)session->WaitEnded(std::chrono::milliseconds(20));
  session.reset();
  return 0;
}
