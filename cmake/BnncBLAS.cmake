# A CBLAS for the runtime's training GEMMs. We want OpenBLAS (Debian:
# libopenblas-dev), found through pkg-config; its cblas.h comes with it.

find_package(PkgConfig REQUIRED)
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
add_library(bnnc_blas INTERFACE)
add_library(bnnc::blas ALIAS bnnc_blas)
target_link_libraries(bnnc_blas INTERFACE PkgConfig::OPENBLAS)
