#include "plugins/runtime/shim_client/exit_watcher.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "plugins/runtime/shim_client/shim_client.h"
#include "shim/protocol/exit_record.h"
#include "shim/protocol/frame.h"

namespace berth::runtime_shim {

ExitWatcher::ExitWatcher(std::string socket_path, std::string state_dir, std::string exec_id,
                         OnExit on_exit)
    : socket_path_(std::move(socket_path)),
      state_dir_(std::move(state_dir)),
      exec_id_(std::move(exec_id)),
      on_exit_(std::move(on_exit)),
      cancel_(eventfd(0, EFD_CLOEXEC)) {
  thread_ = std::thread([this] { Run(); });
}

ExitWatcher::~ExitWatcher() {
  uint64_t one = 1;
  (void)!write(cancel_.get(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
}

void ExitWatcher::Run() {
  Result<UniqueFd> fd = DialShim(socket_path_);
  if (fd.ok()) {
    shim::v1::Request req;
    req.set_version(shim::v1::VERSION_1);
    req.mutable_wait()->set_exec_id(exec_id_);
    if (shim::SendMessage(fd->get(), req).ok()) {
      shim::v1::Response resp;
      Status s = shim::ReadMessage(fd->get(), &resp, -1, cancel_.get());
      if (s.code() == StatusCode::kCancelled) return;
      if (s.ok() && resp.code() == 0 && resp.has_state()) {
        on_exit_(resp.state(), true);
        return;
      }
    }
  }
  // The shim is gone: what it recorded, if anything.
  shim::v1::ProcessState st;
  st.set_exec_id(exec_id_);
  st.set_status(shim::v1::PROCESS_STATUS_STOPPED);
  Result<shim::ExitRecord> rec =
      exec_id_.empty() ? shim::ReadExitRecord(state_dir_) : Result<shim::ExitRecord>(NotFound(""));
  if (rec.ok()) {
    st.set_pid(rec->pid);
    st.set_exit_status(rec->exit_status);
    st.set_signal(rec->signal);
    st.set_exited_at_unix_nano(rec->exited_at_unix_nano);
    st.set_oom_killed(rec->oom_killed);
  } else {
    st.set_exit_status(255);
  }
  on_exit_(st, rec.ok());
}

}  // namespace berth::runtime_shim
