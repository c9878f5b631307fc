# Building berth plugins: berth_add_plugin() and berth_plugin_messages().
#
# Shared by the source tree (api/sdk.cmake includes it) and the installed CMake package
# (BerthConfig.cmake includes it), so that built-in plugins are built exactly as third-party
# ones. The includer must first provide:
#   - the target berth::plugin-sdk (headers; links protobuf-lite),
#   - BERTH_PLUGIN_PROTO_DIR: the directory holding berth/plugin/v1/*.proto,
#   - BERTH_PLUGIN_VERSION_SCRIPT: the linker version script exporting only the entry symbol,
#   - FindProtobuf (protobuf_generate, protobuf::protoc).
include_guard(GLOBAL)
include(GNUInstallDirs)

set_property(GLOBAL PROPERTY BERTH_PLUGIN_PROTO_DIR "${BERTH_PLUGIN_PROTO_DIR}")
set_property(GLOBAL PROPERTY BERTH_PLUGIN_VERSION_SCRIPT "${BERTH_PLUGIN_VERSION_SCRIPT}")

# berth_plugin_messages(<target>)
#
# Gives <target> its own private copy of the plugin payload messages (berth/plugin/v1/*.proto,
# generated as protobuf *lite* code, see common.proto for why): compiles them and puts the
# generated headers (#include "berth/plugin/v1/runtime.pb.h") on its include path. The
# generated code is shared by every target of one directory (an OBJECT library, so each target
# still links its own copy). Links no protobuf library: the target links protobuf-lite
# (plugins, through berth::plugin-sdk) or full protobuf (berthd).
function(berth_plugin_messages target)
  string(MD5 _hash "${CMAKE_CURRENT_BINARY_DIR}")
  string(SUBSTRING "${_hash}" 0 10 _hash)
  set(_objects berth_plugin_messages_${_hash})
  if(NOT TARGET ${_objects})
    get_property(_proto_dir GLOBAL PROPERTY BERTH_PLUGIN_PROTO_DIR)
    set(_gen ${CMAKE_CURRENT_BINARY_DIR}/berth_plugin_messages)
    # APPEND_PATH + output straight into berth/plugin/v1: the generated files land where their
    # #includes of each other ("berth/plugin/v1/common.pb.h") expect them.
    set(_out ${_gen}/berth/plugin/v1)
    file(MAKE_DIRECTORY ${_out})
    set(_protos)
    foreach(_p common runtime snapshotter network)
      list(APPEND _protos ${_proto_dir}/berth/plugin/v1/${_p}.proto)
    endforeach()
    protobuf_generate(LANGUAGE cpp OUT_VAR _srcs PROTOS ${_protos}
      IMPORT_DIRS ${_proto_dir} PROTOC_OUT_DIR ${_out} APPEND_PATH)
    add_library(${_objects} OBJECT ${_srcs})
    target_include_directories(${_objects} PUBLIC ${_gen})
    target_include_directories(${_objects} SYSTEM PRIVATE
      $<TARGET_PROPERTY:protobuf::libprotobuf-lite,INTERFACE_INCLUDE_DIRECTORIES>)
    set_target_properties(${_objects} PROPERTIES
      POSITION_INDEPENDENT_CODE ON
      CXX_VISIBILITY_PRESET hidden
      VISIBILITY_INLINES_HIDDEN ON)
    target_compile_options(${_objects} PRIVATE -w)  # generated code is not ours to keep clean
  endif()
  target_link_libraries(${target} PRIVATE ${_objects})
  target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_BINARY_DIR}/berth_plugin_messages)
endfunction()

# berth_add_plugin(<target> SOURCES <file>...
#                  [LIBRARIES <lib>...]          extra libraries to link (privately)
#                  [OUTPUT_NAME <name>]          file name without ".so"; default <target>
#                  [OUTPUT_DIRECTORY <dir>]      default: ${BERTH_PLUGIN_BUILD_DIR} when set,
#                                                else the current binary dir
#                  [INSTALL_DESTINATION <dir>]   default: ${BERTH_PLUGIN_INSTALL_DIR} when set,
#                                                else ${CMAKE_INSTALL_LIBDIR}/berth/plugins
#                  [NO_INSTALL])
#
# Builds <name>.so, a plugin library for berthd: a MODULE library with the SDK, the plugin
# messages, -fvisibility=hidden and a version script that exports only berth_plugin_entry.
# Undefined symbols fail the link (not the later dlopen in berthd).
function(berth_add_plugin target)
  cmake_parse_arguments(P "NO_INSTALL" "OUTPUT_NAME;OUTPUT_DIRECTORY;INSTALL_DESTINATION"
                        "SOURCES;LIBRARIES" ${ARGN})
  if(P_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "berth_add_plugin(${target}): unknown arguments ${P_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT P_SOURCES)
    message(FATAL_ERROR "berth_add_plugin(${target}): SOURCES is required")
  endif()
  if(NOT P_OUTPUT_NAME)
    set(P_OUTPUT_NAME ${target})
  endif()
  if(NOT P_OUTPUT_DIRECTORY)
    if(DEFINED BERTH_PLUGIN_BUILD_DIR)
      set(P_OUTPUT_DIRECTORY ${BERTH_PLUGIN_BUILD_DIR})
    else()
      set(P_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    endif()
  endif()
  if(NOT P_INSTALL_DESTINATION)
    if(DEFINED BERTH_PLUGIN_INSTALL_DIR)
      set(P_INSTALL_DESTINATION ${BERTH_PLUGIN_INSTALL_DIR})
    else()
      set(P_INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/berth/plugins)
    endif()
  endif()

  add_library(${target} MODULE ${P_SOURCES})
  berth_plugin_messages(${target})
  target_link_libraries(${target} PRIVATE berth::plugin-sdk ${P_LIBRARIES})
  get_property(_script GLOBAL PROPERTY BERTH_PLUGIN_VERSION_SCRIPT)
  target_link_options(${target} PRIVATE
    "LINKER:--version-script=${_script}" "LINKER:--no-undefined")
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${P_OUTPUT_NAME}
    LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIRECTORY}
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LINK_DEPENDS ${_script})
  if(NOT P_NO_INSTALL)
    install(TARGETS ${target} LIBRARY DESTINATION ${P_INSTALL_DESTINATION})
  endif()
endfunction()
