// ContainerStreams (cri/container/container_streams.h) driven directly (root): berthd's real
// pieces in-process — PluginHost with the native runtime, overlay snapshotter and cni network
// plugins, ImageManager with the imported busybox test image, PodManager on a test-owned CNI
// bridge, ContainerManager — and real pods and containers. The streaming channels are in-test
// implementations backed by strings (the wire protocols are tested elsewhere).
//
// Covered: exec with and without a tty (stdout/stderr apart, stdin echo, ^D at stdin's end,
// resize seen by stty), exit codes incl. a signal, 64 MiB of output without loss, a client
// going away (the exec and its children killed, promptly; no FIFO, exec, zombie, fd or thread
// left), attach to stdin/tty containers (stdin_once, output also in the log, after a berthd
// restart too), and DialPod into
// a pod's network namespace (busybox httpd), a closed port and a host-network pod.
#include "tests/integration/container_streams_fixture.h"

namespace berth::testing {
namespace {

TEST_F(ContainerStreamsTest, ExecWithoutTtyOutputsAndExitCodes) {
  std::string id =
      RunContainer(pod_, Config("plain", {"sh", "-c", "while true; do sleep 0.1; done"}));
  ASSERT_FALSE(id.empty());
  StringOutput out, err;
  TestCancel cancel;
  ExecStreams io{nullptr, &out, &err, nullptr, false, &cancel};
  Result<int> r = streams_->Exec(id, {"sh", "-c", "echo out; echo err >&2; exit 3"}, io);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, 3);
  EXPECT_EQ(out.Text(), "out\n");
  EXPECT_EQ(err.Text(), "err\n");
  EXPECT_TRUE(out.closed() && err.closed());

  StringOutput out2;
  io = {nullptr, &out2, nullptr, nullptr, false, &cancel};
  r = streams_->Exec(id, {"sh", "-c", "echo bye; kill -9 $$"}, io);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, 128 + 9);
  EXPECT_EQ(out2.Text(), "bye\n");

  // Only stderr asked for; a missing binary is the shell's 127.
  StringOutput err3;
  io = {nullptr, nullptr, &err3, nullptr, false, &cancel};
  r = streams_->Exec(id, {"sh", "-c", "echo gone; no-such-cmd"}, io);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, 127);
  EXPECT_NE(err3.Text().find("no-such-cmd"), std::string::npos) << err3.Text();

  // Errors: empty command, unknown and not running containers.
  EXPECT_EQ(streams_->Exec(id, {}, io).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(streams_->Exec("nope", {"true"}, io).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(containers_->Stop(id, 0).ok());
  EXPECT_EQ(streams_->Exec(id, {"true"}, io).status().code(), StatusCode::kFailedPrecondition);
  ExpectNoStreamsLeft(id);
}

TEST_F(ContainerStreamsTest, ExecStdinEchoWithAndWithoutTty) {
  std::string id =
      RunContainer(pod_, Config("echo", {"sh", "-c", "while true; do sleep 0.1; done"}));
  ASSERT_FALSE(id.empty());
  int fds = CountFds(), threads = CountThreads();
  TestCancel cancel;
  {
    StringInput in;
    StringOutput out;
    ExecStreams io{&in, &out, nullptr, nullptr, false, &cancel};
    in.Push("hello\n");
    in.Push("world\n");
    in.End();  // EOF: cat ends
    Result<int> r = streams_->Exec(id, {"cat"}, io);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, 0);
    EXPECT_EQ(out.Text(), "hello\nworld\n");
  }
  {
    // A tty: the line is echoed by the terminal and printed by cat; stdin's end is a ^D.
    StringInput in;
    StringOutput out;
    ExecStreams io{&in, &out, nullptr, nullptr, true, &cancel};
    in.Push("abc\n");
    std::thread closer([&] {
      out.WaitFor("abc\r\nabc\r\n", 10s);
      in.End();
    });
    Result<int> r = streams_->Exec(id, {"cat"}, io);
    closer.join();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, 0);
    EXPECT_EQ(out.Text(), "abc\r\nabc\r\n");
  }
  {
    // Resize through the session's resize channel; stdin kept open by the client after the
    // process exited must not hold the session (the backend stops the input).
    StringInput in;
    StringOutput out;
    QueueResize resize;
    ExecStreams io{&in, &out, nullptr, &resize, true, &cancel};
    resize.Push({77, 22});
    std::thread feeder([&] {
      std::this_thread::sleep_for(300ms);  // the resize goes first
      in.Push("x\n");
    });
    Result<int> r = streams_->Exec(id, {"sh", "-c", "read l; stty size; echo got $l; exit 4"}, io);
    feeder.join();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, 4);
    EXPECT_NE(out.Text().find("22 77\r\n"), std::string::npos) << out.Text();
    EXPECT_NE(out.Text().find("got x\r\n"), std::string::npos) << out.Text();
    EXPECT_TRUE(in.stopped() && resize.stopped());
  }
  EXPECT_EQ(CountFds(), fds);
  EXPECT_EQ(CountThreads(), threads);
  ExpectNoStreamsLeft(id);
}

TEST_F(ContainerStreamsTest, LargeOutputWithoutLoss) {
  std::string id =
      RunContainer(pod_, Config("big", {"sh", "-c", "while true; do sleep 0.1; done"}));
  ASSERT_FALSE(id.empty());
  constexpr uint64_t k64MiB = 64ull << 20;
  CountingOutput out('\0'), err('e');
  TestCancel cancel;
  ExecStreams io{nullptr, &out, &err, nullptr, false, &cancel};
  auto t0 = std::chrono::steady_clock::now();
  Result<int> r = streams_->Exec(
      id,
      {"sh", "-c",
       "head -c 1048576 /dev/zero | tr '\\0' e >&2 & dd if=/dev/zero bs=65536 count=1024 "
       "2>/dev/null; wait"},
      io);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, 0);
  EXPECT_EQ(out.bytes(), k64MiB);
  EXPECT_EQ(out.wrong(), 0u);
  EXPECT_EQ(err.bytes(), 1u << 20);
  EXPECT_EQ(err.wrong(), 0u);
  printf("64 MiB exec output in %lld ms\n",
         static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - t0)
                                    .count()));
  // With a tty as well (through the shim's pty copy).
  CountingOutput tty_out('a');
  io = {nullptr, &tty_out, nullptr, nullptr, true, &cancel};
  r = streams_->Exec(id, {"sh", "-c", "stty raw -echo; head -c 8388608 /dev/zero | tr '\\0' a"},
                     io);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(tty_out.bytes(), 8u << 20);
  EXPECT_EQ(tty_out.wrong(), 0u);
  ExpectNoStreamsLeft(id);
}

TEST_F(ContainerStreamsTest, ClientGoneKillsTheExecAndItsChildren) {
  // The init reaps orphans (sh waits for any child), so a killed grandchild is not a zombie.
  std::string id =
      RunContainer(pod_, Config("cancel", {"sh", "-c", "while true; do sleep 0.1; done"}));
  ASSERT_FALSE(id.empty());
  int fds = CountFds(), threads = CountThreads();
  StringInput in;  // open and silent, as an interactive client's
  StringOutput out;
  TestCancel cancel;
  ExecStreams io{&in, &out, nullptr, nullptr, false, &cancel};
  std::thread client([&] {
    out.WaitFor("started\n", 10s);
    cancel.Fire();
  });
  auto t0 = std::chrono::steady_clock::now();
  Result<int> r =
      streams_->Exec(id, {"sh", "-c", "sleep 4242 & echo started; exec sleep 4343"}, io);
  auto took = std::chrono::steady_clock::now() - t0;
  client.join();
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().ToString();
  EXPECT_LT(took, 5s);
  EXPECT_TRUE(WaitNoProcess(InitPid(id), {"4242", "4343"}));
  EXPECT_EQ(CountFds(), fds);
  EXPECT_EQ(CountThreads(), threads);
  ExpectNoStreamsLeft(id);
  // The container lives on.
  Result<runtime::v1::ExecSyncResponse> alive = containers_->ExecSync(id, {"echo", "alive"}, 10);
  ASSERT_TRUE(alive.ok()) << alive.status().ToString();
  EXPECT_EQ(alive->stdout(), "alive\n");
}

TEST_F(ContainerStreamsTest, AttachToStdinTtyContainer) {
  runtime::v1::ContainerConfig c =
      Config("tty", {"sh", "-c", "while read l; do echo got $l; done; echo bye"});
  c.set_stdin(true);
  c.set_tty(true);
  std::string id = RunContainer(pod_, c);
  ASSERT_FALSE(id.empty());
  int fds = CountFds(), threads = CountThreads();
  TestCancel cancel;
  StringInput in;
  StringOutput out;
  QueueResize resize;
  ExecStreams io{&in, &out, nullptr, &resize, true, &cancel};
  std::thread client([&] {
    std::this_thread::sleep_for(300ms);  // attached by now
    in.Push("one\n");
    out.WaitFor("got one\r\n", 10s);
    resize.Push({90, 20});
    std::this_thread::sleep_for(200ms);
    cancel.Fire();  // the client goes away
  });
  Status s = streams_->Attach(id, io);
  client.join();
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_NE(out.Text().find("got one\r\n"), std::string::npos) << out.Text();
  EXPECT_EQ(ContainerState(id), runtime::v1::CONTAINER_RUNNING);  // not stdin_once
  Result<runtime::v1::ExecSyncResponse> size =
      containers_->ExecSync(id, {"sh", "-c", "stty size < /proc/1/fd/0"}, 10);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(size->stdout(), "20 90\n") << size->stderr();
  EXPECT_NE(LogText("tty").find("got one"), std::string::npos);  // the log has it too
  EXPECT_EQ(SettledCount(CountFds, fds), fds);
  EXPECT_EQ(SettledCount(CountThreads, threads), threads);

  // A second session, stdin_once not set: its stdin's end is not the container's; the
  // container's exit ends the session.
  StringInput in2;
  StringOutput out2;
  TestCancel cancel2;
  io = {&in2, &out2, nullptr, nullptr, true, &cancel2};
  std::thread client2([&] {
    std::this_thread::sleep_for(300ms);
    in2.Push("two\n");
    out2.WaitFor("got two\r\n", 10s);
    in2.End();
    std::this_thread::sleep_for(300ms);
    // The container still runs (its stdin is open): stopping it ends the session.
    EXPECT_EQ(ContainerState(id), runtime::v1::CONTAINER_RUNNING);
    EXPECT_TRUE(containers_->Stop(id, 0).ok());
  });
  s = streams_->Attach(id, io);
  client2.join();
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_NE(out2.Text().find("got two"), std::string::npos) << out2.Text();
  EXPECT_EQ(WaitExited(id), runtime::v1::CONTAINER_EXITED);
  ExpectNoStreamsLeft(id);
  // Attaching to an exited or unknown container.
  EXPECT_EQ(streams_->Attach(id, io).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(streams_->Attach("nope", io).code(), StatusCode::kNotFound);
}

TEST_F(ContainerStreamsTest, AttachStdinOnceWithoutTty) {
  runtime::v1::ContainerConfig c =
      Config("once",
             {"sh", "-c", "while read l; do echo got $l; echo err $l >&2; done; echo bye; exit 6"});
  c.set_stdin(true);
  c.set_stdin_once(true);
  std::string id = RunContainer(pod_, c);
  ASSERT_FALSE(id.empty());
  TestCancel cancel;
  StringInput in;
  StringOutput out, err;
  ExecStreams io{&in, &out, &err, nullptr, false, &cancel};
  std::thread client([&] {
    std::this_thread::sleep_for(300ms);
    in.Push("a\n");
    out.WaitFor("got a\n", 10s);
    in.End();  // stdin_once: the container's stdin closes, its loop ends, it exits
  });
  Status s = streams_->Attach(id, io);
  client.join();
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(out.Text(), "got a\nbye\n");
  EXPECT_EQ(err.Text(), "err a\n");
  EXPECT_EQ(WaitExited(id), runtime::v1::CONTAINER_EXITED);
  EXPECT_NE(LogText("once").find("stdout F bye"), std::string::npos) << LogText("once");
  ExpectNoStreamsLeft(id);
}

TEST_F(ContainerStreamsTest, AttachAfterStdinWasClosedGoesOnWithoutIt) {
  runtime::v1::ContainerConfig c =
      Config("closed", {"sh", "-c", "cat; exec 0<&-; while true; do echo tick; sleep 0.1; done"});
  c.set_stdin(true);
  c.set_stdin_once(true);
  std::string id = RunContainer(pod_, c);
  ASSERT_FALSE(id.empty());
  for (int round = 0; round < 2; ++round) {
    TestCancel cancel;
    StringInput in;
    StringOutput out;
    ExecStreams io{&in, &out, nullptr, nullptr, false, &cancel};
    std::thread client([&] {
      if (round == 0) {
        std::this_thread::sleep_for(300ms);
        in.Push("first\n");
        out.WaitFor("first\n", 10s);
        in.End();  // stdin_once: the container's stdin ends; cat exits, stdin is closed
      }
      out.WaitFor("tick\n", 10s);
      cancel.Fire();
    });
    Status s = streams_->Attach(id, io);
    client.join();
    EXPECT_TRUE(s.ok()) << "round " << round << ": " << s.ToString();
    EXPECT_NE(out.Text().find("tick\n"), std::string::npos) << out.Text();
  }
  EXPECT_EQ(ContainerState(id), runtime::v1::CONTAINER_RUNNING);
  ExpectNoStreamsLeft(id);
}

TEST_F(ContainerStreamsTest, AttachAndExecAfterBerthdRestart) {
  runtime::v1::ContainerConfig c =
      Config("restart", {"sh", "-c", "while read l; do echo got $l; done"});
  c.set_stdin(true);
  std::string id = RunContainer(pod_, c);
  ASSERT_FALSE(id.empty());
  StopBerthd();  // the shim keeps the container and its stdin FIFO
  StartBerthd();
  ASSERT_EQ(ContainerState(id), runtime::v1::CONTAINER_RUNNING);
  TestCancel cancel;
  StringInput in;
  StringOutput out;
  ExecStreams io{&in, &out, nullptr, nullptr, false, &cancel};
  std::thread client([&] {
    std::this_thread::sleep_for(300ms);
    in.Push("after\n");
    out.WaitFor("got after\n", 10s);
    cancel.Fire();
  });
  Status s = streams_->Attach(id, io);
  client.join();
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(out.Text(), "got after\n");
  StringOutput exec_out;
  TestCancel cancel2;  // the first one has fired
  io = {nullptr, &exec_out, nullptr, nullptr, false, &cancel2};
  Result<int> r = streams_->Exec(id, {"echo", "exec-ok"}, io);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(exec_out.Text(), "exec-ok\n");
  ExpectNoStreamsLeft(id);
}

TEST_F(ContainerStreamsTest, DialPodInsideItsNetworkNamespace) {
  std::string id =
      RunContainer(pod_, Config("web", {"sh", "-c",
                                        "mkdir -p /www && echo hello-from-pod > /www/index.html && "
                                        "exec httpd -f -p 8080 -h /www"}));
  ASSERT_FALSE(id.empty());
  Result<UniqueFd> fd = Unavailable("not tried");
  for (int i = 0; i < 100; ++i) {  // until httpd listens
    fd = streams_->DialPod(pod_, 8080);
    if (fd.ok()) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  EXPECT_EQ(fcntl(fd->get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(fcntl(fd->get(), F_GETFD) & FD_CLOEXEC, 0);
  std::string req = "GET /index.html HTTP/1.0\r\n\r\n";
  ASSERT_EQ(write(fd->get(), req.data(), req.size()), static_cast<ssize_t>(req.size()));
  std::string resp;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd->get(), buf, sizeof(buf))) > 0) resp.append(buf, static_cast<size_t>(n));
  EXPECT_NE(resp.find("hello-from-pod"), std::string::npos) << resp;
  // Many at once.
  std::vector<UniqueFd> many;
  for (int i = 0; i < 20; ++i) {
    Result<UniqueFd> c = streams_->DialPod(pod_, 8080);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    many.push_back(std::move(*c));
  }
  // A closed port, an unknown pod.
  Result<UniqueFd> closed = streams_->DialPod(pod_, 8081);
  EXPECT_EQ(closed.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(closed.status().message().find("connection refused on port 8081 inside pod " + pod_),
            std::string::npos)
      << closed.status().ToString();
  EXPECT_EQ(streams_->DialPod(std::string(64, 'f'), 8080).status().code(), StatusCode::kNotFound);

  // A host-network pod dials on the host.
  std::string host_pod = RunPod("hostnet", /*host_network=*/true);
  ASSERT_FALSE(host_pod.empty());
  UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener.get(), 4), 0);
  socklen_t len = sizeof(addr);
  getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  Result<UniqueFd> host = streams_->DialPod(host_pod, ntohs(addr.sin_port));
  EXPECT_TRUE(host.ok()) << host.status().ToString();
  // A stopped pod.
  ASSERT_TRUE(pods_->Stop(host_pod).ok());
  EXPECT_EQ(streams_->DialPod(host_pod, 8080).status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace berth::testing
