# _honch_core as a MicroPython user module, for CMake-based ports (esp32, rp2):
#
#   make -C ports/rp2 BOARD=RPI_PICO_W USER_C_MODULES=/path/to/honch/micropython.cmake
#
# Like micropython.mk: cargo builds the Rust core as a static library (profile `firmware`)
# after MicroPython has generated its headers, because the bindings are generated from them
# with the port's own include paths and definitions (the ones its qstr scan uses).
#
# Needs: cargo with the Rust target of the board (`rustup target add <target>`) and libclang
# (bindgen). The target is picked from the port; set HONCH_RUST_TARGET to override (the
# Xtensa chips esp32/esp32s2/esp32s3 need Espressif's Rust toolchain and an explicit target).

add_library(usermod_honch INTERFACE)
target_sources(usermod_honch INTERFACE ${CMAKE_CURRENT_LIST_DIR}/mp_bindings/c/honch_usermod.c)
target_include_directories(usermod_honch INTERFACE ${CMAKE_CURRENT_LIST_DIR}/mp_bindings/c)

if(NOT HONCH_RUST_TARGET)
    if(PICO_PLATFORM STREQUAL "rp2040")
        set(HONCH_RUST_TARGET thumbv6m-none-eabi)
    elseif(PICO_PLATFORM STREQUAL "rp2350-arm-s" OR PICO_PLATFORM STREQUAL "rp2350")
        # The SDK builds RP2350 code with -mfloat-abi=softfp: floats pass in integer
        # registers, which is the -eabi (not -eabihf) target's calling convention.
        set(HONCH_RUST_TARGET thumbv8m.main-none-eabi)
    elseif(PICO_PLATFORM STREQUAL "rp2350-riscv")
        set(HONCH_RUST_TARGET riscv32imac-unknown-none-elf)
    elseif(IDF_TARGET STREQUAL "esp32c3" OR IDF_TARGET STREQUAL "esp32c2")
        set(HONCH_RUST_TARGET riscv32imc-unknown-none-elf)
    elseif(IDF_TARGET STREQUAL "esp32c6" OR IDF_TARGET STREQUAL "esp32h2")
        set(HONCH_RUST_TARGET riscv32imac-unknown-none-elf)
    elseif(IDF_TARGET STREQUAL "esp32")
        set(HONCH_RUST_TARGET xtensa-esp32-none-elf)
    elseif(IDF_TARGET STREQUAL "esp32s2")
        set(HONCH_RUST_TARGET xtensa-esp32s2-none-elf)
    elseif(IDF_TARGET STREQUAL "esp32s3")
        set(HONCH_RUST_TARGET xtensa-esp32s3-none-elf)
    else()
        message(FATAL_ERROR "honch: set HONCH_RUST_TARGET to the Rust target of this board's CPU")
    endif()
endif()

set(HONCH_DIR ${CMAKE_CURRENT_LIST_DIR})
set(HONCH_CARGO_DIR ${CMAKE_BINARY_DIR}/honch-cargo)
set(HONCH_CARGO_LIB ${HONCH_CARGO_DIR}/${HONCH_RUST_TARGET}/firmware/libhonch.a)
# What the firmware links: cargo's library after mp_bindings/finish-staticlib.sh.
set(HONCH_LIB ${CMAKE_BINARY_DIR}/libhonch.a)
# py/mkrules.cmake (included by the port after this file) generates these headers here.
set(HONCH_GENHDR ${CMAKE_BINARY_DIR}/genhdr)
set(HONCH_GENHDR_FILES
    ${HONCH_GENHDR}/qstrdefs.generated.h ${HONCH_GENHDR}/root_pointers.h
    ${HONCH_GENHDR}/moduledefs.h ${HONCH_GENHDR}/mpversion.h)
if(MICROPY_ROM_TEXT_COMPRESSION)
    list(APPEND HONCH_GENHDR_FILES ${HONCH_GENHDR}/compressed.data.h)
endif()
file(GLOB_RECURSE HONCH_SOURCES CONFIGURE_DEPENDS
    ${HONCH_DIR}/src/*.rs ${HONCH_DIR}/mp_bindings/*.rs ${HONCH_DIR}/mp_bindings/*.h ${HONCH_DIR}/mp_bindings/*.c)

# The flags MicroPython's own qstr scan preprocesses with (py/mkrules.cmake), for bindgen.
set(HONCH_MPY_CFLAGS
    "-I$<JOIN:$<TARGET_PROPERTY:${MICROPY_TARGET},INCLUDE_DIRECTORIES>, -I> -D$<JOIN:$<TARGET_PROPERTY:${MICROPY_TARGET},COMPILE_DEFINITIONS>, -D> ${MICROPY_CPP_FLAGS_EXTRA}")
# bindgen's clang does not know where a cross compiler keeps its C library (newlib): hand it
# the compiler's own include folders, without GCC's private ones (clang has its own).
set(HONCH_SYSTEM_INCLUDES "")
foreach(dir IN LISTS CMAKE_C_IMPLICIT_INCLUDE_DIRECTORIES)
    if(NOT dir MATCHES "/lib/gcc/[^/]+/[^/]+/include(-fixed)?$")
        string(APPEND HONCH_SYSTEM_INCLUDES " ${dir}")
    endif()
endforeach()

add_custom_command(
    OUTPUT ${HONCH_CARGO_LIB}
    # MAKEFLAGS/MFLAGS cleared: cargo runs its own jobs (the make jobserver's pipes are not
    # passed to this command).
    COMMAND ${CMAKE_COMMAND} -E env "MAKEFLAGS=" "MFLAGS="
        "HONCH_MPY_CFLAGS=${HONCH_MPY_CFLAGS}"
        "HONCH_MPY_PORT_DIR=${MICROPY_PORT_DIR}"
        "HONCH_MPY_SYSTEM_INCLUDES=${HONCH_SYSTEM_INCLUDES}"
        cargo rustc --quiet --locked --manifest-path ${HONCH_DIR}/Cargo.toml
        --lib --crate-type staticlib --profile firmware
        --no-default-features --features micropython
        --target ${HONCH_RUST_TARGET} --target-dir ${HONCH_CARGO_DIR}
    COMMAND ${CMAKE_COMMAND} -E touch ${HONCH_CARGO_LIB}
    DEPENDS ${HONCH_SOURCES} ${HONCH_DIR}/Cargo.toml ${HONCH_DIR}/Cargo.lock ${HONCH_GENHDR_FILES}
    COMMENT "honch: building the Rust core for ${HONCH_RUST_TARGET}"
    VERBATIM
)
add_custom_command(
    OUTPUT ${HONCH_LIB}
    COMMAND ${HONCH_DIR}/mp_bindings/finish-staticlib.sh ${HONCH_CARGO_LIB} ${HONCH_LIB} ${CMAKE_NM}
    DEPENDS ${HONCH_CARGO_LIB} ${HONCH_DIR}/mp_bindings/finish-staticlib.sh
    VERBATIM
)
add_custom_target(honch_rust DEPENDS ${HONCH_LIB})

# MicroPython's frozen-content step regenerates the same headers from its own copy of the
# rules: run after it, never beside it (a parallel build would write them twice at once).
# It is defined by py/mkrules.cmake, which the port includes later: order them at the end.
function(honch_order_after_generated_headers)
    foreach(target BUILD_FROZEN_CONTENT BUILD_VERSION_HEADER)
        if(TARGET ${target})
            add_dependencies(honch_rust ${target})
        endif()
    endforeach()
endfunction()
cmake_language(DEFER CALL honch_order_after_generated_headers)

add_library(honch_rust_lib STATIC IMPORTED GLOBAL)
set_target_properties(honch_rust_lib PROPERTIES IMPORTED_LOCATION ${HONCH_LIB})
add_dependencies(honch_rust_lib honch_rust)

target_link_libraries(usermod_honch INTERFACE honch_rust_lib)
# Ask for the module object explicitly, whatever the library's place on the link line.
target_link_options(usermod_honch INTERFACE "LINKER:--undefined=honch_core_module")
target_link_libraries(usermod INTERFACE usermod_honch)
