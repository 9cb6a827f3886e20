# Finds LLVM through its CMake package (Debian: llvm-dev) and exposes an
# imported target bnnc::llvm with the C API include path and the shared
# libLLVM. No version is hard-coded: llvm-config on PATH picks the default.

find_program(LLVM_CONFIG_EXECUTABLE NAMES llvm-config
             DOC "llvm-config of the LLVM to build against")
if(LLVM_CONFIG_EXECUTABLE)
  execute_process(COMMAND ${LLVM_CONFIG_EXECUTABLE} --cmakedir
                  OUTPUT_VARIABLE _llvm_cmakedir OUTPUT_STRIP_TRAILING_WHITESPACE)
endif()
find_package(LLVM REQUIRED CONFIG HINTS ${_llvm_cmakedir})
message(STATUS "bnnc: LLVM ${LLVM_PACKAGE_VERSION} from ${LLVM_DIR}")

add_library(bnnc_llvm INTERFACE)
add_library(bnnc::llvm ALIAS bnnc_llvm)
target_include_directories(bnnc_llvm SYSTEM INTERFACE ${LLVM_INCLUDE_DIRS})
target_compile_definitions(bnnc_llvm INTERFACE BNNC_LLVM_VERSION_STRING="${LLVM_PACKAGE_VERSION}")
if(LLVM_LINK_LLVM_DYLIB OR TARGET LLVM)
  target_link_libraries(bnnc_llvm INTERFACE LLVM)
else()
  llvm_map_components_to_libnames(_llvm_libs core analysis passes target
      ${LLVM_TARGETS_TO_BUILD})
  target_link_libraries(bnnc_llvm INTERFACE ${_llvm_libs})
endif()
