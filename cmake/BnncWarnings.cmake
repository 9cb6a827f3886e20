# Warning and sanitizer flags shared by every bnnc target.
# bnnc_target_defaults(TARGET) applies them; generated flex/bison sources
# get the same warnings minus the ones their skeletons trip.

set(BNNC_WARNING_FLAGS -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wno-unused-parameter)
if(BNNC_WERROR)
  list(APPEND BNNC_WARNING_FLAGS -Werror)
endif()

if(BNNC_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

function(bnnc_target_defaults target)
  target_compile_options(${target} PRIVATE ${BNNC_WARNING_FLAGS})
endfunction()
