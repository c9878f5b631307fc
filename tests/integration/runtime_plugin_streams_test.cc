// The runtime plugins' behavioural suite, part 3: what streaming sessions (exec -it, attach)
// need from a runtime plugin — stdin through a terminal and its end-of-file, ResizePty,
// CloseIO, and Attach copying a running container's output into FIFOs while its log keeps
// getting it (see runtime_plugin_fixture.h). Every test runs against native, runc and, where it
// can run, crun.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>

#include <functional>

#include "tests/integration/runtime_plugin_fixture.h"

namespace berth::native::testing {
namespace {

// Reads the non-blocking `fd` until `done(text)` holds, EOF, or `timeout`; what came.
std::string ReadUntil(int fd, const std::function<bool(const std::string&)>& done,
                      std::chrono::milliseconds timeout = 10s, bool* eof = nullptr) {
  std::string text;
  auto end = std::chrono::steady_clock::now() + timeout;
  if (eof) *eof = false;
  while (!done(text) && std::chrono::steady_clock::now() < end) {
    pollfd pfd{fd, POLLIN, 0};
    poll(&pfd, 1, 50);
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) {
      text.append(buf, static_cast<size_t>(n));
    } else if (n == 0 && (pfd.revents & POLLHUP)) {
      if (eof) *eof = true;
      break;
    }
  }
  return text;
}

std::function<bool(const std::string&)> Has(std::string what) {
  return [what](const std::string& t) { return t.find(what) != std::string::npos; };
}

int Threads() {
  int n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

class StreamsTest : public RuntimePluginTest {
 protected:
  std::string Fifo(const std::string& name) {
    std::string path = state_->path() + "/" + name;
    EXPECT_EQ(mkfifo(path.c_str(), 0600), 0) << path;
    return path;
  }
  static UniqueFd OpenReader(const std::string& path) {
    return UniqueFd(open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  }
  Status Resize(const std::string& id, const std::string& exec_id, uint32_t w, uint32_t h) {
    pv1::ResizePtyRequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    req.set_width(w);
    req.set_height(h);
    return Call("ResizePty", req);
  }
  Status CloseIO(const std::string& id, const std::string& exec_id = "") {
    pv1::CloseIORequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    return Call("CloseIO", req);
  }
  Status Attach(const std::string& id, const std::string& out, const std::string& err = "") {
    pv1::AttachTaskRequest req;
    req.set_id(id);
    req.mutable_io()->set_stdout(out);
    req.mutable_io()->set_stderr(err);
    return Call("Attach", req);
  }
  // An exec with a terminal whose stdin and output are FIFOs, started; the caller's ends are
  // returned (stdin opened without ever blocking: O_RDWR first, then O_WRONLY).
  void TtyExec(const std::string& id, const std::string& exec_id, std::vector<std::string> args,
               UniqueFd* in, UniqueFd* out) {
    std::string in_path = Fifo(exec_id + ".in"), out_path = Fifo(exec_id + ".out");
    *out = OpenReader(out_path);
    UniqueFd hold(open(in_path.c_str(), O_RDWR | O_CLOEXEC));
    ASSERT_TRUE(*out && hold);
    pv1::ExecProcessRequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    nlohmann::json proc = Process(std::move(args));
    proc["terminal"] = true;
    req.set_process_json(proc.dump());
    req.mutable_io()->set_terminal(true);
    req.mutable_io()->set_stdin(in_path);
    req.mutable_io()->set_stdout(out_path);
    Status s = Call("Exec", req);
    ASSERT_TRUE(s.ok()) << s.ToString();
    in->reset(open(in_path.c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(*in);
    hold.reset();
    ASSERT_TRUE(Start(id, exec_id).ok());
  }
};

TEST_P(StreamsTest, TtyExecStdinEchoAndEndOfFile) {
  Create("e", DefaultSpec({"sleep", "1000"}));
  ASSERT_TRUE(Start("e").ok());
  UniqueFd in, out;
  TtyExec("e", "cat", {"cat"}, &in, &out);
  ASSERT_EQ(write(in.get(), "hello\n", 6), 6);
  // The terminal echoes the line, then cat prints it: twice, with \r\n.
  std::string text = ReadUntil(out.get(), [](const std::string& t) {
    return t.find("hello\r\nhello\r\n") != std::string::npos;
  });
  EXPECT_NE(text.find("hello\r\nhello\r\n"), std::string::npos) << text;
  // A partial line, then EOF: the shim types ^D twice (deliver the line, then end of file).
  ASSERT_EQ(write(in.get(), "tail", 4), 4);
  in.reset();
  std::optional<pv1::TaskExitEvent> ev = WaitExit("e", "cat");
  ASSERT_TRUE(ev) << "cat did not see the end of file";
  EXPECT_EQ(ev->exit_status(), 0);
  text += ReadUntil(out.get(), Has("tailtail"), 2s);
  EXPECT_NE(text.find("tailtail"), std::string::npos) << text;
  Delete("e", "cat");

  // Much more stdin than the shim buffers (16 KiB) or the pty takes at once: nothing lost.
  TtyExec("e", "wc", {"wc", "-c"}, &in, &out);
  std::string line(999, 'x');
  line += '\n';
  std::thread writer([&] {
    for (int i = 0; i < 300; ++i) ASSERT_EQ(write(in.get(), line.data(), line.size()), 1000);
    in.reset();
  });
  text = ReadUntil(out.get(), Has("300000"), 20s);
  writer.join();
  EXPECT_NE(text.find("300000"), std::string::npos) << text.substr(0, 200);
  ev = WaitExit("e", "wc");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->exit_status(), 0);
  Delete("e", "wc");
  Finish("e");
}

TEST_P(StreamsTest, AStalledTerminalReaderDoesNotStallTheShim) {
  Create("st", DefaultSpec({"sleep", "1000"}));
  ASSERT_TRUE(Start("st").ok());
  UniqueFd in, out;
  TtyExec("st", "big", {"sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' a"}, &in, &out);
  std::this_thread::sleep_for(500ms);  // the FIFO and the pty are full by now; nobody reads
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(State("st").status(), pv1::TASK_STATUS_RUNNING);
  pv1::ExecProcessResponse r;
  ASSERT_TRUE(ExecSync("st", "x", {"echo", "responsive"}, &r).ok());
  EXPECT_EQ(r.stdout(), "responsive\n");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  // Now read it all: nothing lost, and EOF once the process exited.
  bool eof = false;
  std::string text = ReadUntil(
      out.get(), [](const std::string&) { return false; }, 20s, &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(text.size(), 1000000u);
  EXPECT_EQ(text.find_first_not_of('a'), std::string::npos);
  std::optional<pv1::TaskExitEvent> ev = WaitExit("st", "big");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->exit_status(), 0);
  Delete("st", "big");
  Finish("st");
}

TEST_P(StreamsTest, ResizePtyIsSeenByStty) {
  Create("rs", DefaultSpec({"sleep", "1000"}));
  ASSERT_TRUE(Start("rs").ok());
  UniqueFd in, out;
  TtyExec("rs", "sz", {"sh", "-c", "stty size; read x; stty size"}, &in, &out);
  std::string text = ReadUntil(out.get(), Has("\r\n"));
  ASSERT_TRUE(Resize("rs", "sz", 101, 33).ok());
  ASSERT_EQ(write(in.get(), "\n", 1), 1);
  text += ReadUntil(out.get(), Has("33 101\r\n"));
  EXPECT_NE(text.find("33 101\r\n"), std::string::npos) << text;
  EXPECT_TRUE(WaitExit("rs", "sz"));
  Delete("rs", "sz");
  // Errors: no terminal, unknown process, bad size.
  EXPECT_EQ(Resize("rs", "", 80, 24).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Resize("rs", "nope", 80, 24).code(), StatusCode::kNotFound);
  EXPECT_EQ(Resize("rs", "", 0, 24).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Resize("nope", "", 80, 24).code(), StatusCode::kNotFound);
  Finish("rs");
}

TEST_P(StreamsTest, CloseIOEndsATerminalInitsStdin) {
  std::string fifo = Fifo("tty-in"), log = state_->path() + "/tty-in.log";
  nlohmann::json spec =
      DefaultSpec({"sh", "-c", "while read l; do echo \"got $l\"; done; echo eof; exit 5"});
  spec["process"]["terminal"] = true;
  Create("ti", spec, log, fifo);
  ASSERT_TRUE(Start("ti").ok());
  int fd = open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "one\n", 4), 4);
  close(fd);  // a writer going away is not the end of the container's stdin
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(State("ti").status(), pv1::TASK_STATUS_RUNNING);
  ASSERT_TRUE(CloseIO("ti").ok());
  std::optional<pv1::TaskExitEvent> ev = WaitExit("ti");
  ASSERT_TRUE(ev) << "the terminal's stdin did not end";
  EXPECT_EQ(ev->exit_status(), 5);
  Delete("ti");
  std::vector<std::string> lines = LogLines(log);
  auto has = [&](const std::string& l) {
    return std::find(lines.begin(), lines.end(), l) != lines.end();
  };
  EXPECT_TRUE(has("stdout F got one")) << ::testing::PrintToString(lines);
  EXPECT_TRUE(has("stdout F eof")) << ::testing::PrintToString(lines);
  EXPECT_EQ(CloseIO("ti").code(), StatusCode::kNotFound);
}

TEST_P(StreamsTest, AttachCopiesLiveOutputAndTheLogKeepsIt) {
  std::string log = state_->path() + "/at.log";
  Create("at",
         DefaultSpec({"sh", "-c",
                      "i=0; while true; do echo line$i; echo err$i >&2; i=$((i+1)); "
                      "sleep 0.05; done"}),
         log);
  ASSERT_TRUE(Start("at").ok());
  int threads = Threads();
  std::string out_path = Fifo("at.out"), err_path = Fifo("at.err");
  // Without a reader: refused, nothing started.
  EXPECT_EQ(Attach("at", out_path).code(), StatusCode::kFailedPrecondition);
  {
    UniqueFd out = OpenReader(out_path), err = OpenReader(err_path);
    ASSERT_TRUE(Attach("at", out_path, err_path).ok());
    std::string text = ReadUntil(
        out.get(), [](const std::string& t) { return std::count(t.begin(), t.end(), '\n') >= 5; });
    EXPECT_EQ(text.substr(0, 4), "line") << text;
    std::string e = ReadUntil(err.get(), Has("\n"));
    EXPECT_EQ(e.substr(0, 3), "err") << e;
    EXPECT_EQ(text.find("err"), std::string::npos);  // streams stay apart
    // The reader goes away: the pump ends by itself (no thread left) and the container runs on.
  }
  for (int i = 0; i < 100 && Threads() > threads; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(Threads(), threads) << "the attach pump outlived its reader";
  EXPECT_EQ(State("at").status(), pv1::TASK_STATUS_RUNNING);

  // Attached until the container exits: EOF then. Only stdout asked for.
  UniqueFd out = OpenReader(out_path);
  ASSERT_TRUE(Attach("at", out_path).ok());
  EXPECT_NE(ReadUntil(out.get(), Has("line")).find("line"), std::string::npos);
  ASSERT_TRUE(Kill("at", SIGKILL).ok());
  bool eof = false;
  ReadUntil(
      out.get(), [](const std::string&) { return false; }, 10s, &eof);
  EXPECT_TRUE(eof) << "no EOF after the exit";
  EXPECT_TRUE(WaitExit("at"));
  Delete("at");
  for (int i = 0; i < 100 && Threads() > threads; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_LE(Threads(), threads);
  // The log got the output all along, both streams.
  std::vector<std::string> lines = LogLines(log);
  EXPECT_GT(lines.size(), 10u);
  EXPECT_NE(std::find(lines.begin(), lines.end(), "stdout F line0"), lines.end());
  EXPECT_NE(std::find(lines.begin(), lines.end(), "stderr F err0"), lines.end());
  // Attach to something unknown or gone.
  UniqueFd again = OpenReader(out_path);
  EXPECT_EQ(Attach("at", out_path).code(), StatusCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, StreamsTest, ::testing::ValuesIn(RuntimeCases()), CaseName);

}  // namespace
}  // namespace berth::native::testing
