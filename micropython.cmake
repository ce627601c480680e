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
        set(HONCH_RUST_TARGET thumbv8m.main-none-eabihf)
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
set(HONCH_LIB ${HONCH_CARGO_DIR}/${HONCH_RUST_TARGET}/firmware/libhonch.a)
# py/mkrules.cmake (included by the port after this file) generates these headers here.
set(HONCH_GENHDR ${CMAKE_BINARY_DIR}/genhdr)
file(GLOB_RECURSE HONCH_SOURCES CONFIGURE_DEPENDS
    ${HONCH_DIR}/src/*.rs ${HONCH_DIR}/mp_bindings/*.rs ${HONCH_DIR}/mp_bindings/*.h ${HONCH_DIR}/mp_bindings/*.c)

# The flags MicroPython's own qstr scan preprocesses with (py/mkrules.cmake), for bindgen.
set(HONCH_MPY_CFLAGS
    "-I$<JOIN:$<TARGET_PROPERTY:${MICROPY_TARGET},INCLUDE_DIRECTORIES>, -I> -D$<JOIN:$<TARGET_PROPERTY:${MICROPY_TARGET},COMPILE_DEFINITIONS>, -D> ${MICROPY_CPP_FLAGS_EXTRA}")

add_custom_command(
    OUTPUT ${HONCH_LIB}
    COMMAND ${CMAKE_COMMAND} -E env
        "HONCH_MPY_CFLAGS=${HONCH_MPY_CFLAGS}"
        "HONCH_MPY_PORT_DIR=${MICROPY_PORT_DIR}"
        cargo rustc --quiet --locked --manifest-path ${HONCH_DIR}/Cargo.toml
        --lib --crate-type staticlib --profile firmware
        --no-default-features --features micropython
        --target ${HONCH_RUST_TARGET} --target-dir ${HONCH_CARGO_DIR}
    DEPENDS ${HONCH_SOURCES} ${HONCH_DIR}/Cargo.toml ${HONCH_DIR}/Cargo.lock
        ${HONCH_GENHDR}/qstrdefs.generated.h ${HONCH_GENHDR}/root_pointers.h
        ${HONCH_GENHDR}/moduledefs.h ${HONCH_GENHDR}/mpversion.h
    COMMENT "honch: building the Rust core for ${HONCH_RUST_TARGET}"
    VERBATIM
)
add_custom_target(honch_rust DEPENDS ${HONCH_LIB})

add_library(honch_rust_lib STATIC IMPORTED GLOBAL)
set_target_properties(honch_rust_lib PROPERTIES IMPORTED_LOCATION ${HONCH_LIB})
add_dependencies(honch_rust_lib honch_rust)

target_link_libraries(usermod_honch INTERFACE honch_rust_lib)
target_link_libraries(usermod INTERFACE usermod_honch)
