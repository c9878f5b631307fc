/*
 * berth plugin ABI, version 1: the only thing a plugin library and berthd share in binary form.
 *
 * Pure C (C99), no C++ types, so that a plugin built with another compiler, another standard
 * library or another protobuf than berthd's can still be loaded. Payloads are protobuf messages
 * from the berth/plugin/v1 protos, passed as bytes; see docs/plugins.md. The C++ SDK
 * (berth/sdk/plugin.h) implements all of this for you; read on if you write the C by hand.
 *
 * Loading. berthd dlopen()s every *.so in its plugin directories (RTLD_LOCAL | RTLD_NOW) and
 * calls the one exported function BERTH_PLUGIN_ENTRY_SYMBOL. It returns a descriptor that must
 * stay valid, unchanged, until the library is unloaded (a pointer to static data). The host
 * checks abi_version and every struct_size, then creates at most one instance per descriptor,
 * after the instances of everything the plugin requires.
 *
 * Growing. Every struct starts with fixed fields and carries struct_size = sizeof() as the
 * writer compiled it. A reader never looks past the struct_size it was given, and rejects a
 * struct smaller than the v1 size (BERTH_PLUGIN_*_V1_SIZE). New fields are only ever appended;
 * anything else bumps BERTH_PLUGIN_ABI_VERSION.
 *
 * Status codes. Functions that can fail return an int with gRPC's numbering (BERTH_STATUS_*):
 * 0 is OK. An unknown method answers BERTH_STATUS_UNIMPLEMENTED; a request that does not parse,
 * BERTH_STATUS_INVALID_ARGUMENT. Codes outside 0..16 are read as UNKNOWN.
 *
 * Ownership. Pointers passed *into* a function are borrowed for the duration of the call.
 * Buffers a plugin hands *out* (*resp_out, *error_out) are allocated by the plugin and released
 * by the host with that same plugin's vtable->free_buffer(), never with the host's free(): the
 * two sides may use different allocators.
 *
 * Threads. See berth_plugin_vtable and berth_host_api below.
 */
#ifndef BERTH_PLUGIN_ABI_H_
#define BERTH_PLUGIN_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI described by this header. The host loads only plugins reporting exactly this. */
#define BERTH_PLUGIN_ABI_VERSION 1u

/* The one symbol a plugin library exports (a function of type berth_plugin_entry_fn). */
#define BERTH_PLUGIN_ENTRY_SYMBOL "berth_plugin_entry"

/* Marks the entry function visible in a library built with -fvisibility=hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define BERTH_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define BERTH_PLUGIN_EXPORT
#endif

/* Plugin kinds; the payload protos of each live in berth/plugin/v1/<kind>.proto. */
#define BERTH_PLUGIN_TYPE_RUNTIME "io.berth.runtime.v1"
#define BERTH_PLUGIN_TYPE_SNAPSHOTTER "io.berth.snapshotter.v1"
#define BERTH_PLUGIN_TYPE_NETWORK "io.berth.network.v1"

/* Status codes: gRPC's numbering. */
#define BERTH_STATUS_OK 0
#define BERTH_STATUS_CANCELLED 1
#define BERTH_STATUS_UNKNOWN 2
#define BERTH_STATUS_INVALID_ARGUMENT 3
#define BERTH_STATUS_DEADLINE_EXCEEDED 4
#define BERTH_STATUS_NOT_FOUND 5
#define BERTH_STATUS_ALREADY_EXISTS 6
#define BERTH_STATUS_PERMISSION_DENIED 7
#define BERTH_STATUS_RESOURCE_EXHAUSTED 8
#define BERTH_STATUS_FAILED_PRECONDITION 9
#define BERTH_STATUS_ABORTED 10
#define BERTH_STATUS_OUT_OF_RANGE 11
#define BERTH_STATUS_UNIMPLEMENTED 12
#define BERTH_STATUS_INTERNAL 13
#define BERTH_STATUS_UNAVAILABLE 14
#define BERTH_STATUS_DATA_LOSS 15
#define BERTH_STATUS_UNAUTHENTICATED 16

/* Log levels for berth_host_api.log. */
#define BERTH_LOG_DEBUG 0
#define BERTH_LOG_INFO 1
#define BERTH_LOG_WARN 2
#define BERTH_LOG_ERROR 3

/* berth_plugin_descriptor.flags */
/* The host never calls invoke() on the instance from two threads at once. Without this flag,
 * invoke() must be safe to call concurrently from any number of host threads. */
#define BERTH_PLUGIN_FLAG_SERIALIZE_INVOKE 0x1u

/*
 * What the host offers a plugin instance. Passed to create(); the pointer and everything it
 * points to stay valid until destroy() of that instance has returned. The plugin must not call
 * any of these after that (join your threads in destroy()).
 *
 * Every function may be called from any thread, concurrently, including from inside create(),
 * invoke() and destroy(). They do not block for long and never call back into the plugin.
 */
typedef struct berth_host_api {
  uint32_t struct_size; /* sizeof(berth_host_api) as the host compiled it */
  uint32_t reserved;    /* zero */
  void* ctx;            /* pass back as the first argument of every function below */

  /* One log line. `msg` (not NUL-terminated, `msg_len` bytes) is borrowed. The host adds the
   * plugin's name to the line. Levels outside BERTH_LOG_* are logged as info. */
  void (*log)(void* ctx, int level, const char* msg, size_t msg_len);

  /* Publishes an event (e.g. a task exit) to whoever in berthd subscribes. `topic` is
   * NUL-terminated ("/tasks/exit"); `data` is a serialized message defined next to the topic
   * in the plugin protos. Both are borrowed (copied if kept). Events nobody listens to are
   * dropped. Returns a BERTH_STATUS_* code. */
  int (*publish_event)(void* ctx, const char* topic, const uint8_t* data, size_t data_len);

  /* Directories that belong to this instance alone, NUL-terminated absolute paths, created by
   * the host (mode 0700, owner root) before create(): `root_dir` survives reboots
   * (<berthd root>/plugins/<type>/<name>), `state_dir` does not (<berthd state>/plugins/...).
   * Empty strings when the host has no place to offer (e.g. a test harness). */
  const char* root_dir;
  const char* state_dir;
} berth_host_api;

#define BERTH_HOST_API_V1_SIZE \
  (offsetof(berth_host_api, state_dir) + sizeof(((berth_host_api*)0)->state_dir))

/*
 * The functions of a plugin. All pointers must be non-NULL.
 *
 * Threads: create() and destroy() are called once per instance, never concurrently with any
 * other call on that instance. invoke() is called concurrently from several host threads unless
 * the descriptor sets BERTH_PLUGIN_FLAG_SERIALIZE_INVOKE. free_buffer() may be called from any
 * thread at any time while the library is loaded.
 */
typedef struct berth_plugin_vtable {
  uint32_t struct_size; /* sizeof(berth_plugin_vtable) as the plugin compiled it */
  uint32_t reserved;    /* zero */

  /* Creates the instance. `config_json` is this plugin's section of berthd's configuration, a
   * JSON object ("{}" when there is none), `config_len` bytes, also NUL-terminated. `host` is
   * valid until destroy() returns. On success stores the instance in *instance_out and returns
   * BERTH_STATUS_OK. On failure returns another code, may store a NUL-terminated message in
   * *error_out (released with free_buffer), and must have released everything it made: the host
   * will not call destroy(). */
  int (*create)(const char* config_json, size_t config_len, const berth_host_api* host,
                void** instance_out, char** error_out);

  /* Destroys an instance made by create(): stops its threads, releases its resources. The host
   * calls it once, after every invoke() on the instance has returned, and before it unloads the
   * library. Must not fail; a plugin that cannot clean up logs why. */
  void (*destroy)(void* instance);

  /* Calls `method` (NUL-terminated, an rpc name from the plugin kind's proto service, e.g.
   * "Prepare") with the serialized request `req` (`req_len` bytes; borrowed). On
   * BERTH_STATUS_OK stores the serialized response in *resp_out / *resp_len (*resp_out may be
   * NULL when *resp_len is 0). On any other code may store a NUL-terminated message in
   * *error_out. The host passes every non-NULL *resp_out and *error_out to free_buffer(). */
  int (*invoke)(void* instance, const char* method, const uint8_t* req, size_t req_len,
                uint8_t** resp_out, size_t* resp_len, char** error_out);

  /* Releases a buffer that create() or invoke() handed out. NULL is a no-op. */
  void (*free_buffer)(void* ptr);
} berth_plugin_vtable;

#define BERTH_PLUGIN_VTABLE_V1_SIZE \
  (offsetof(berth_plugin_vtable, free_buffer) + sizeof(((berth_plugin_vtable*)0)->free_buffer))

/*
 * What a plugin library is. All strings are NUL-terminated, static, and valid while the
 * library is loaded.
 */
typedef struct berth_plugin_descriptor {
  uint32_t abi_version; /* BERTH_PLUGIN_ABI_VERSION; always the first field, in every version */
  uint32_t struct_size; /* sizeof(berth_plugin_descriptor) as the plugin compiled it */
  const char* type;     /* one of BERTH_PLUGIN_TYPE_* */
  const char* name;     /* unique within the type: [a-z0-9][a-z0-9._-]*, e.g. "overlay" */
  const char* version;  /* the plugin's own version, free-form, e.g. "1.2.0" */
  /* NULL-terminated list of plugins that must be created before this one, each as
   * "<type>/<name>" ("io.berth.snapshotter.v1/overlay"). May itself be NULL (no requirements).
   * A plugin whose requirement is missing or failed is not created. */
  const char* const* requires_list;
  const berth_plugin_vtable* vtable;
  uint64_t flags; /* BERTH_PLUGIN_FLAG_* */
} berth_plugin_descriptor;

#define BERTH_PLUGIN_DESCRIPTOR_V1_SIZE \
  (offsetof(berth_plugin_descriptor, flags) + sizeof(((berth_plugin_descriptor*)0)->flags))

/* The type of the entry function. It must not fail, allocate, or have side effects: the host
 * may call it more than once. */
typedef const berth_plugin_descriptor* (*berth_plugin_entry_fn)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* BERTH_PLUGIN_ABI_H_ */
