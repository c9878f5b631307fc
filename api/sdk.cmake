# The plugin SDK (DESIGN.md §3): the target berth::plugin-sdk, berth_add_plugin() for the
# built-in plugins, and its installation as the CMake package "Berth" (component "sdk"):
#   include/berth/{plugin_abi.h,sdk/*.h}
#   share/berth/proto/berth/plugin/v1/*.proto
#   lib/cmake/Berth/{BerthConfig,BerthConfigVersion,BerthTargets,BerthPlugin}.cmake
# `cmake --install <build> --component sdk --prefix <dir>` installs just that, without root.
include(CMakePackageConfigHelpers)

set(BERTH_PLUGIN_ABI_VERSION 1)  # keep equal to BERTH_PLUGIN_ABI_VERSION in plugin_abi.h
set(BERTH_SDK_PROTO_INSTALL_DIR ${CMAKE_INSTALL_DATADIR}/berth/proto)
set(BERTH_SDK_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Berth)

add_library(berth_plugin_sdk INTERFACE)
add_library(berth::plugin-sdk ALIAS berth_plugin_sdk)
set_target_properties(berth_plugin_sdk PROPERTIES EXPORT_NAME plugin-sdk)
target_include_directories(berth_plugin_sdk INTERFACE
  $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(berth_plugin_sdk INTERFACE protobuf::libprotobuf-lite)
target_compile_features(berth_plugin_sdk INTERFACE cxx_std_20)

# The same functions an out-of-tree plugin gets from find_package(Berth).
set(BERTH_PLUGIN_PROTO_DIR ${CMAKE_CURRENT_SOURCE_DIR}/proto)
set(BERTH_PLUGIN_VERSION_SCRIPT ${CMAKE_CURRENT_SOURCE_DIR}/cmake/berth_plugin.map)
include(${CMAKE_CURRENT_SOURCE_DIR}/cmake/BerthPlugin.cmake)

# ---- installation --------------------------------------------------------------------------
install(TARGETS berth_plugin_sdk EXPORT BerthTargets COMPONENT sdk)
install(EXPORT BerthTargets NAMESPACE berth:: DESTINATION ${BERTH_SDK_CMAKE_INSTALL_DIR}
        COMPONENT sdk)
install(DIRECTORY include/berth DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT sdk
        FILES_MATCHING PATTERN "*.h")
install(DIRECTORY proto/berth/plugin DESTINATION ${BERTH_SDK_PROTO_INSTALL_DIR}/berth
        COMPONENT sdk FILES_MATCHING PATTERN "*.proto")

configure_package_config_file(cmake/BerthConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/BerthConfig.cmake
  INSTALL_DESTINATION ${BERTH_SDK_CMAKE_INSTALL_DIR}
  PATH_VARS BERTH_SDK_PROTO_INSTALL_DIR)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/BerthConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES
    ${CMAKE_CURRENT_BINARY_DIR}/BerthConfig.cmake
    ${CMAKE_CURRENT_BINARY_DIR}/BerthConfigVersion.cmake
    cmake/BerthPlugin.cmake
    cmake/berth_plugin.map
  DESTINATION ${BERTH_SDK_CMAKE_INSTALL_DIR} COMPONENT sdk)
