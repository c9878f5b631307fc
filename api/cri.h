#pragma once
// The CRI v1 API (generated from api/proto/cri/v1/api.proto): include this, never the
// generated api.pb.h / api.grpc.pb.h directly.
//
// Why: CRI's `enum Signal` has values named SIGTERM, SIGKILL, … which <signal.h> defines as
// macros. Whichever file includes <signal.h> first would make the generated header fail to
// compile. This header hides those macros while the generated code is read and restores them
// afterwards, so include order no longer matters. In code, spell the enum values with their
// qualified name (runtime::v1::Signal::SIGTERM) only where <signal.h> is not in scope, or use
// runtime::v1::Signal_Parse / numeric values.

#pragma push_macro("SIGABRT")
#pragma push_macro("SIGALRM")
#pragma push_macro("SIGBUS")
#pragma push_macro("SIGCHLD")
#pragma push_macro("SIGCLD")
#pragma push_macro("SIGCONT")
#pragma push_macro("SIGFPE")
#pragma push_macro("SIGHUP")
#pragma push_macro("SIGILL")
#pragma push_macro("SIGINT")
#pragma push_macro("SIGIO")
#pragma push_macro("SIGIOT")
#pragma push_macro("SIGKILL")
#pragma push_macro("SIGPIPE")
#pragma push_macro("SIGPOLL")
#pragma push_macro("SIGPROF")
#pragma push_macro("SIGPWR")
#pragma push_macro("SIGQUIT")
#pragma push_macro("SIGSEGV")
#pragma push_macro("SIGSTKFLT")
#pragma push_macro("SIGSTOP")
#pragma push_macro("SIGSYS")
#pragma push_macro("SIGTERM")
#pragma push_macro("SIGTRAP")
#pragma push_macro("SIGTSTP")
#pragma push_macro("SIGTTIN")
#pragma push_macro("SIGTTOU")
#pragma push_macro("SIGURG")
#pragma push_macro("SIGUSR1")
#pragma push_macro("SIGUSR2")
#pragma push_macro("SIGVTALRM")
#pragma push_macro("SIGWINCH")
#pragma push_macro("SIGXCPU")
#pragma push_macro("SIGXFSZ")
#pragma push_macro("SIGRTMIN")
#pragma push_macro("SIGRTMAX")
#undef SIGABRT
#undef SIGALRM
#undef SIGBUS
#undef SIGCHLD
#undef SIGCLD
#undef SIGCONT
#undef SIGFPE
#undef SIGHUP
#undef SIGILL
#undef SIGINT
#undef SIGIO
#undef SIGIOT
#undef SIGKILL
#undef SIGPIPE
#undef SIGPOLL
#undef SIGPROF
#undef SIGPWR
#undef SIGQUIT
#undef SIGSEGV
#undef SIGSTKFLT
#undef SIGSTOP
#undef SIGSYS
#undef SIGTERM
#undef SIGTRAP
#undef SIGTSTP
#undef SIGTTIN
#undef SIGTTOU
#undef SIGURG
#undef SIGUSR1
#undef SIGUSR2
#undef SIGVTALRM
#undef SIGWINCH
#undef SIGXCPU
#undef SIGXFSZ
#undef SIGRTMIN
#undef SIGRTMAX

#include "api.grpc.pb.h"  // IWYU pragma: export
#include "api.pb.h"       // IWYU pragma: export

#pragma pop_macro("SIGABRT")
#pragma pop_macro("SIGALRM")
#pragma pop_macro("SIGBUS")
#pragma pop_macro("SIGCHLD")
#pragma pop_macro("SIGCLD")
#pragma pop_macro("SIGCONT")
#pragma pop_macro("SIGFPE")
#pragma pop_macro("SIGHUP")
#pragma pop_macro("SIGILL")
#pragma pop_macro("SIGINT")
#pragma pop_macro("SIGIO")
#pragma pop_macro("SIGIOT")
#pragma pop_macro("SIGKILL")
#pragma pop_macro("SIGPIPE")
#pragma pop_macro("SIGPOLL")
#pragma pop_macro("SIGPROF")
#pragma pop_macro("SIGPWR")
#pragma pop_macro("SIGQUIT")
#pragma pop_macro("SIGSEGV")
#pragma pop_macro("SIGSTKFLT")
#pragma pop_macro("SIGSTOP")
#pragma pop_macro("SIGSYS")
#pragma pop_macro("SIGTERM")
#pragma pop_macro("SIGTRAP")
#pragma pop_macro("SIGTSTP")
#pragma pop_macro("SIGTTIN")
#pragma pop_macro("SIGTTOU")
#pragma pop_macro("SIGURG")
#pragma pop_macro("SIGUSR1")
#pragma pop_macro("SIGUSR2")
#pragma pop_macro("SIGVTALRM")
#pragma pop_macro("SIGWINCH")
#pragma pop_macro("SIGXCPU")
#pragma pop_macro("SIGXFSZ")
#pragma pop_macro("SIGRTMIN")
#pragma pop_macro("SIGRTMAX")
