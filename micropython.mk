# _honch_core as a MicroPython user module, for make-based ports (unix, stm32, ...).
#
#   make -C ports/unix USER_C_MODULES=<directory that contains this checkout as a subfolder>
#
# The Rust core is built by cargo as a static library (profile `firmware`: size-optimised,
# panic = abort) after MicroPython has generated its headers, because the bindings
# (mp_bindings/) are generated from them. Cross ports set HONCH_RUST_TARGET to the Rust
# target of their CPU (for example thumbv7em-none-eabihf for stm32).

HONCH_DIR := $(USERMOD_DIR)

SRC_USERMOD_C += $(HONCH_DIR)/mp_bindings/c/honch_usermod.c
CFLAGS_USERMOD += -I$(HONCH_DIR)/mp_bindings/c

HONCH_RUST_TARGET ?=
HONCH_CARGO_DIR := $(abspath $(BUILD))/honch-cargo
ifeq ($(HONCH_RUST_TARGET),)
HONCH_CARGO_LIB := $(HONCH_CARGO_DIR)/firmware/libhonch.a
HONCH_TARGET_ARG :=
else
HONCH_CARGO_LIB := $(HONCH_CARGO_DIR)/$(HONCH_RUST_TARGET)/firmware/libhonch.a
HONCH_TARGET_ARG := --target $(HONCH_RUST_TARGET)
endif
# What the firmware links: cargo's library after mp_bindings/finish-staticlib.sh.
HONCH_LIB := $(abspath $(BUILD))/libhonch.a
# Ports that put LDFLAGS before the objects (qemu, stm32) would skip an archive nothing has
# asked for yet: ask for the module object up front.
LDFLAGS_USERMOD += -Wl,--undefined=honch_core_module $(HONCH_LIB)

# mp_bindings/build.rs reads the port's compiler flags (exported verbatim, not through the
# shell, so their quoting survives) and resolves relative include paths from the port dir.
$(HONCH_CARGO_LIB): export HONCH_MPY_CFLAGS = $(CFLAGS)
$(HONCH_CARGO_LIB): export HONCH_MPY_PORT_DIR = $(CURDIR)
# bindgen's clang does not know where a cross compiler keeps its C library (newlib,
# picolibc): hand it the port compiler's own include folders, without GCC's private ones.
HONCH_CC_TARGET_FLAGS = $(filter --specs=% -mcpu=% -mthumb -mfloat-abi=% -march=% -mabi=% -m32,$(CFLAGS))
$(HONCH_CARGO_LIB): export HONCH_MPY_SYSTEM_INCLUDES = $(shell echo | $(CC) $(HONCH_CC_TARGET_FLAGS) \
	-E -Wp,-v -xc - 2>&1 | sed -n 's/^ \(\/.*\)/\1/p' | grep -Ev '/lib/gcc/[^/]+/[^/]+/include(-fixed)?$$')
HONCH_SOURCES := $(shell find $(HONCH_DIR)/src $(HONCH_DIR)/mp_bindings -name '*.rs' -o -name '*.h') \
	$(HONCH_DIR)/mp_bindings/c/honch_usermod.c $(HONCH_DIR)/Cargo.toml $(HONCH_DIR)/Cargo.lock \
	$(HONCH_DIR)/mp_bindings/Cargo.toml $(HONCH_DIR)/mp_bindings/build.rs

HONCH_GENHDR := $(HEADER_BUILD)/qstrdefs.generated.h $(HEADER_BUILD)/root_pointers.h \
	$(HEADER_BUILD)/moduledefs.h $(HEADER_BUILD)/mpversion.h
ifeq ($(MICROPY_ROM_TEXT_COMPRESSION),1)
HONCH_GENHDR += $(HEADER_BUILD)/compressed.data.h
endif

$(HONCH_CARGO_LIB): $(HONCH_SOURCES) $(HONCH_GENHDR)
	$(ECHO) "CARGO $(notdir $@)"
	$(Q)MAKEFLAGS= MFLAGS= cargo rustc --quiet --locked \
		--manifest-path $(HONCH_DIR)/Cargo.toml --lib --crate-type staticlib \
		--profile firmware --no-default-features --features micropython \
		$(HONCH_TARGET_ARG) --target-dir $(HONCH_CARGO_DIR)
	$(Q)touch $@

$(HONCH_LIB): $(HONCH_CARGO_LIB) $(HONCH_DIR)/mp_bindings/finish-staticlib.sh
	$(Q)$(HONCH_DIR)/mp_bindings/finish-staticlib.sh $< $@ $(or $(NM),$(CROSS_COMPILE)nm)

# The image relinks when the library changes, whatever the port calls it.
$(BUILD)/firmware.elf: $(HONCH_LIB)
ifneq ($(PROG),)
$(BUILD)/$(PROG): $(HONCH_LIB)
endif
