# BnncModel.cmake - compile a .bnn model at build time and link it into a
# target, the way protobuf_generate adds generated sources.
#
#   include(BnncModel)      # list(APPEND CMAKE_MODULE_PATH <bnnc>/cmake) first
#   bnnc_add_model(TARGET MODEL.bnn
#                  [WEIGHTS W.safetensors | RANDOM_WEIGHTS SEED]
#                  [NAME N] [TARGET_TRIPLE T] [MCPU CPU] [MATTR FEATURES]
#                  [OPT_LEVEL 0..3] [OUTPUT_DIR DIR])
#
# Runs `bnnc MODEL.bnn -o N.o -H N.h` (plus the options given) when the model,
# the weights or bnnc itself change, adds N.o to TARGET's sources (an external
# object: it is linked, not compiled) and N.h's directory to its include
# path, so `#include "N.h"` works. N defaults to the model file's base name;
# the symbols in the object are named after the `model` statement of the
# .bnn file (`model bnn_mlp` -> bnn_mlp_infer), whatever N is.
#
# Weights: WEIGHTS, else RANDOM_WEIGHTS SEED (benchmarks, tests), else
# MODEL.safetensors beside the model, which must exist when CMake runs.
#
# bnnc: the `bnnc` target when this is part of bnnc's own build (and the
# object is rebuilt when bnnc is); otherwise the program in BNNC_EXECUTABLE,
# found on the PATH by default (-DBNNC_EXECUTABLE=/path/to/bnnc to choose).
#
# The object is for TARGET_TRIPLE (default: the machine running bnnc, with its
# CPU features unless MCPU/MATTR say otherwise): when cross compiling, pass
# the triple of the toolchain that links TARGET.

include_guard(GLOBAL)

function(bnnc_add_model target model)
  cmake_parse_arguments(M "" "WEIGHTS;RANDOM_WEIGHTS;NAME;TARGET_TRIPLE;MCPU;MATTR;OPT_LEVEL;OUTPUT_DIR" ""
                        ${ARGN})
  if(M_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "bnnc_add_model: unknown arguments: ${M_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "bnnc_add_model: '${target}' is not a target (call add_executable/add_library first)")
  endif()
  get_filename_component(model_path "${model}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT EXISTS "${model_path}")
    message(FATAL_ERROR "bnnc_add_model: model file ${model_path} does not exist")
  endif()
  get_filename_component(model_stem "${model_path}" NAME_WE)
  if(NOT M_NAME)
    set(M_NAME ${model_stem})
  endif()
  if(NOT M_OUTPUT_DIR)
    set(M_OUTPUT_DIR "${CMAKE_CURRENT_BINARY_DIR}/bnnc/${M_NAME}")
  endif()

  # The compiler: in-tree target, or an installed program.
  if(TARGET bnnc)
    set(bnnc_command $<TARGET_FILE:bnnc>)
    set(bnnc_depends bnnc)
  else()
    find_program(BNNC_EXECUTABLE bnnc DOC "the bnnc compiler used by bnnc_add_model")
    if(NOT BNNC_EXECUTABLE)
      message(FATAL_ERROR "bnnc_add_model: cannot find bnnc; put it on the PATH or pass -DBNNC_EXECUTABLE=...")
    endif()
    set(bnnc_command "${BNNC_EXECUTABLE}")
    set(bnnc_depends "${BNNC_EXECUTABLE}")
  endif()

  set(args "${model_path}")
  set(depends "${model_path}" ${bnnc_depends})
  if(M_WEIGHTS AND DEFINED M_RANDOM_WEIGHTS)
    message(FATAL_ERROR "bnnc_add_model: WEIGHTS and RANDOM_WEIGHTS exclude each other")
  elseif(M_WEIGHTS)
    get_filename_component(weights "${M_WEIGHTS}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND args --weights "${weights}")
    list(APPEND depends "${weights}")
  elseif(DEFINED M_RANDOM_WEIGHTS)
    list(APPEND args --random-weights ${M_RANDOM_WEIGHTS})
  else()
    get_filename_component(model_dir "${model_path}" DIRECTORY)
    set(weights "${model_dir}/${model_stem}.safetensors")
    if(NOT EXISTS "${weights}")
      message(FATAL_ERROR "bnnc_add_model: no weights for ${model_path}: ${weights} does not exist; "
                          "train it (bnnc --train ${model_path}), or pass WEIGHTS or RANDOM_WEIGHTS")
    endif()
    list(APPEND args --weights "${weights}")
    list(APPEND depends "${weights}")
  endif()
  if(M_TARGET_TRIPLE)
    list(APPEND args --target ${M_TARGET_TRIPLE})
  endif()
  if(M_MCPU)
    list(APPEND args --mcpu ${M_MCPU})
  endif()
  if(M_MATTR)
    list(APPEND args --mattr ${M_MATTR})
  endif()
  if(DEFINED M_OPT_LEVEL)
    list(APPEND args -O${M_OPT_LEVEL})
  endif()

  set(object "${M_OUTPUT_DIR}/${M_NAME}.o")
  set(header "${M_OUTPUT_DIR}/${M_NAME}.h")
  file(MAKE_DIRECTORY "${M_OUTPUT_DIR}")
  add_custom_command(
    OUTPUT "${object}" "${header}"
    COMMAND ${bnnc_command} ${args} -o "${object}" -H "${header}"
    DEPENDS ${depends}
    COMMENT "bnnc: compiling ${model_stem}.bnn into ${M_NAME}.o and ${M_NAME}.h"
    VERBATIM)
  set_source_files_properties("${object}" PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
  set_source_files_properties("${header}" PROPERTIES GENERATED TRUE)
  target_sources(${target} PRIVATE "${object}" "${header}")
  target_include_directories(${target} PUBLIC "${M_OUTPUT_DIR}")
endfunction()
