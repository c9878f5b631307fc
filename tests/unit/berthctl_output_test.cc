// What berthctl prints, without a daemon: the JSON→YAML emitter, crictl's info object, the
// version lines and the plugins table, each from a response built here.

// The generated CRI header goes before anything that includes <signal.h> (gtest does): the
// CRI Signal enum has values named SIGABRT, SIGKILL, ..., which are macros there.
#include "cli/verbs/info.h"
#include "cli/verbs/plugins.h"
#include "cli/verbs/version.h"

#include <gtest/gtest.h>

#include "cli/output/format.h"
#include "cli/output/yaml.h"

namespace berth::cli {
namespace {

using nlohmann::json;

// ---- YAML ------------------------------------------------------------------------------------

TEST(YamlTest, Scalars) {
  EXPECT_EQ(JsonToYaml(json("x")), "x\n");
  EXPECT_EQ(JsonToYaml(json(nullptr)), "null\n");
  EXPECT_EQ(JsonToYaml(json(42)), "42\n");
  EXPECT_EQ(JsonToYaml(json(true)), "true\n");
  EXPECT_EQ(JsonToYaml(json::object()), "{}\n");
  EXPECT_EQ(JsonToYaml(json::array()), "[]\n");
}

TEST(YamlTest, NestedCollectionsInGoYamlLayout) {
  json doc = json::parse(R"({
    "a": [[1, 2], [{"x": 1, "y": [true]}]],
    "b": {},
    "c": null,
    "d": 1.5,
    "e": [],
    "f": {"g": {"h": "deep"}, "list": [{"k": "v"}, {}, []]}
  })");
  EXPECT_EQ(JsonToYaml(doc),
            "a:\n"
            "- - 1\n"
            "  - 2\n"
            "- - x: 1\n"
            "    \"y\":\n"
            "    - true\n"
            "b: {}\n"
            "c: null\n"
            "d: 1.5\n"
            "e: []\n"
            "f:\n"
            "  g:\n"
            "    h: deep\n"
            "  list:\n"
            "  - k: v\n"
            "  - {}\n"
            "  - []\n");
}

TEST(YamlTest, QuotesStringsThatWouldReadBackAsSomethingElse) {
  json doc = {
      {"empty", ""},
      {"bool", "yes"},
      {"BOOL", "False"},
      {"null", "null"},
      {"tilde", "~"},
      {"number", "12"},
      {"version", "0.1.0"},
      {"float", "1e3"},
      {"colon", "a: b"},
      {"trailing-colon", "a:"},
      {"comment", "x #y"},
      {"hash-inside", "x#y"},
      {"newline", "line1\nline2"},
      {"dash", "-dash"},
      {"indicator", "*ref"},
      {"spaces", " padded "},
      {"quote", "say \"hi\""},
      {"url", "unix:///run/berth/berth.sock"},
      {"words", "no runtime plugin is loaded"},
      {"utf8", "h\xC3\xA9llo"},
      {"bad-utf8",
       "a\xFF"
       "b"},
  };
  EXPECT_EQ(JsonToYaml(doc),
            "BOOL: \"False\"\n"
            "bad-utf8: \"a\xEF\xBF\xBD"
            "b\"\n"
            "bool: \"yes\"\n"
            "colon: \"a: b\"\n"
            "comment: \"x #y\"\n"
            "dash: \"-dash\"\n"
            "empty: \"\"\n"
            "float: \"1e3\"\n"
            "hash-inside: x#y\n"
            "indicator: \"*ref\"\n"
            "newline: \"line1\\nline2\"\n"
            "\"null\": \"null\"\n"
            "number: \"12\"\n"
            "quote: say \"hi\"\n"
            "spaces: \" padded \"\n"
            "tilde: \"~\"\n"
            "trailing-colon: \"a:\"\n"
            "url: unix:///run/berth/berth.sock\n"
            "utf8: \"h\xC3\xA9llo\"\n"
            "version: \"0.1.0\"\n"
            "words: no runtime plugin is loaded\n");
}

// ---- info ------------------------------------------------------------------------------------

::runtime::v1::StatusResponse SampleStatus() {
  ::runtime::v1::StatusResponse resp;
  auto* ready = resp.mutable_status()->add_conditions();
  ready->set_type("RuntimeReady");
  ready->set_status(true);
  auto* network = resp.mutable_status()->add_conditions();
  network->set_type("NetworkReady");
  network->set_status(false);
  network->set_reason("NetworkPluginNotReady");
  network->set_message("no io.berth.network.v1 plugin is loaded");
  (*resp.mutable_info())["config"] = R"({"socket":"/run/berth/berth.sock","plugin_dirs":["/p"]})";
  (*resp.mutable_info())["plugins"] = "[]";
  (*resp.mutable_info())["quoted"] = "\"hello\"";
  (*resp.mutable_info())["plain"] = "not json {";
  return resp;
}

TEST(InfoTest, JsonMatchesCrictl) {
  auto info = InfoJson(SampleStatus());
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(FormatJson(*info),
            R"({
  "config": {
    "plugin_dirs": [
      "/p"
    ],
    "socket": "/run/berth/berth.sock"
  },
  "plain": "not json {",
  "plugins": [],
  "quoted": "hello",
  "status": {
    "conditions": [
      {
        "message": "",
        "reason": "",
        "status": true,
        "type": "RuntimeReady"
      },
      {
        "message": "no io.berth.network.v1 plugin is loaded",
        "reason": "NetworkPluginNotReady",
        "status": false,
        "type": "NetworkReady"
      }
    ]
  }
}
)");
}

TEST(InfoTest, Yaml) {
  auto info = InfoJson(SampleStatus());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(FormatStructured(*info, OutputFormat::kYaml),
            "config:\n"
            "  plugin_dirs:\n"
            "  - /p\n"
            "  socket: /run/berth/berth.sock\n"
            "plain: not json {\n"
            "plugins: []\n"
            "quoted: hello\n"
            "status:\n"
            "  conditions:\n"
            "  - message: \"\"\n"
            "    reason: \"\"\n"
            "    status: true\n"
            "    type: RuntimeReady\n"
            "  - message: no io.berth.network.v1 plugin is loaded\n"
            "    reason: NetworkPluginNotReady\n"
            "    status: false\n"
            "    type: NetworkReady\n");
}

TEST(InfoTest, EmptyResponseStillHasStatus) {
  auto info = InfoJson(::runtime::v1::StatusResponse());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->dump(), R"({"status":{"conditions":[]}})");
}

TEST(InfoTest, RuntimeHandlersAsCrictlRendersThem) {
  // Newer CRI versions have StatusResponse.runtime_handlers; set it through reflection so this
  // test compiles against either version of the API.
  ::runtime::v1::StatusResponse resp;
  const auto* field = resp.GetDescriptor()->FindFieldByName("runtime_handlers");
  if (field == nullptr) GTEST_SKIP() << "this CRI API has no runtime_handlers";
  auto* handler = resp.GetReflection()->AddMessage(&resp, field);
  const auto* features_field = handler->GetDescriptor()->FindFieldByName("features");
  ASSERT_NE(features_field, nullptr);
  auto* features = handler->GetReflection()->MutableMessage(handler, features_field);
  const auto* userns = features->GetDescriptor()->FindFieldByName("user_namespaces");
  ASSERT_NE(userns, nullptr);
  features->GetReflection()->SetBool(features, userns, true);

  auto info = InfoJson(resp);
  ASSERT_TRUE(info.ok());
  // crictl uses encoding/json here: proto field names, empty fields (the default handler's
  // empty name) left out.
  EXPECT_EQ((*info)["runtimeHandlers"].dump(), R"([{"features":{"user_namespaces":true}}])");
  EXPECT_FALSE(info->contains("features")) << "unset: left out";
}

// ---- version ---------------------------------------------------------------------------------

TEST(VersionTest, CrictlFormat) {
  ::runtime::v1::VersionResponse resp;
  resp.set_version("0.1.0");
  resp.set_runtime_name("berth");
  resp.set_runtime_version("0.1.0");
  resp.set_runtime_api_version("v1");
  EXPECT_EQ(FormatVersion(resp),
            "Version:  0.1.0\n"
            "RuntimeName:  berth\n"
            "RuntimeVersion:  0.1.0\n"
            "RuntimeApiVersion:  v1\n");
}

// ---- plugins ---------------------------------------------------------------------------------

::berth::v1::ListPluginsResponse SamplePlugins() {
  ::berth::v1::ListPluginsResponse resp;
  auto* native = resp.add_plugins();
  native->set_type("io.berth.runtime.v1");
  native->set_name("native");
  native->set_version("0.1.0");
  native->set_status("ok");
  native->set_path("/usr/lib/berth/plugins/native.so");
  auto* cni = resp.add_plugins();
  cni->set_type("io.berth.network.v1");
  cni->set_name("cni");
  cni->set_status("error");
  cni->set_path("/x/cni.so");
  cni->set_error("missing symbol berth_plugin_entry");
  return resp;
}

TEST(PluginsTest, Table) {
  EXPECT_EQ(
      FormatPluginsTable(SamplePlugins()),
      "TYPE                  NAME                VERSION             STATUS              PATH\n"
      "io.berth.runtime.v1   native              0.1.0               ok                  "
      "/usr/lib/berth/plugins/native.so\n"
      "io.berth.network.v1   cni                 -                   error               "
      "/x/cni.so\n"
      "  error: missing symbol berth_plugin_entry\n");
}

TEST(PluginsTest, EmptyTableIsJustTheHeader) {
  EXPECT_EQ(
      FormatPluginsTable({}),
      "TYPE                NAME                VERSION             STATUS              PATH\n");
}

TEST(PluginsTest, Json) {
  auto j = PluginsJson(SamplePlugins());
  ASSERT_TRUE(j.ok());
  ASSERT_EQ((*j)["plugins"].size(), 2u);
  const json& cni = (*j)["plugins"][1];
  EXPECT_EQ(cni["type"], "io.berth.network.v1");
  EXPECT_EQ(cni["name"], "cni");
  EXPECT_EQ(cni["version"], "") << "fields at their default are printed";
  EXPECT_EQ(cni["status"], "error");
  EXPECT_EQ(cni["path"], "/x/cni.so");
  EXPECT_EQ(cni["error"], "missing symbol berth_plugin_entry");
  EXPECT_EQ((*j)["plugins"][0]["error"], "");
  EXPECT_TRUE(PluginsJson({})->at("plugins").empty());
}

// ---- formats ---------------------------------------------------------------------------------

TEST(OutputFormatTest, ParsesOnlySupportedNames) {
  EXPECT_EQ(*ParseOutputFormat("yaml", {OutputFormat::kJson, OutputFormat::kYaml}),
            OutputFormat::kYaml);
  auto bad = ParseOutputFormat("table", {OutputFormat::kJson, OutputFormat::kYaml});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "unsupported output format \"table\" (use one of: json, yaml)");
}

}  // namespace
}  // namespace berth::cli
