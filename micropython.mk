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
HONCH_LIB := $(HONCH_CARGO_DIR)/firmware/libhonch.a
HONCH_TARGET_ARG :=
else
HONCH_LIB := $(HONCH_CARGO_DIR)/$(HONCH_RUST_TARGET)/firmware/libhonch.a
HONCH_TARGET_ARG := --target $(HONCH_RUST_TARGET)
endif
LDFLAGS_USERMOD += $(HONCH_LIB)

# mp_bindings/build.rs reads the port's compiler flags (exported verbatim, not through the
# shell, so their quoting survives) and resolves relative include paths from the port dir.
$(HONCH_LIB): export HONCH_MPY_CFLAGS = $(CFLAGS)
$(HONCH_LIB): export HONCH_MPY_PORT_DIR = $(CURDIR)
HONCH_SOURCES := $(shell find $(HONCH_DIR)/src $(HONCH_DIR)/mp_bindings -name '*.rs' -o -name '*.h') \
	$(HONCH_DIR)/mp_bindings/c/honch_usermod.c $(HONCH_DIR)/Cargo.toml $(HONCH_DIR)/Cargo.lock \
	$(HONCH_DIR)/mp_bindings/Cargo.toml $(HONCH_DIR)/mp_bindings/build.rs

$(HONCH_LIB): $(HONCH_SOURCES) $(HEADER_BUILD)/qstrdefs.generated.h $(HEADER_BUILD)/root_pointers.h $(HEADER_BUILD)/moduledefs.h $(HEADER_BUILD)/mpversion.h
	$(ECHO) "CARGO $(notdir $@)"
	$(Q)cargo rustc --quiet --locked \
		--manifest-path $(HONCH_DIR)/Cargo.toml --lib --crate-type staticlib \
		--profile firmware --no-default-features --features micropython \
		$(HONCH_TARGET_ARG) --target-dir $(HONCH_CARGO_DIR)
	$(Q)touch $@

$(BUILD)/$(PROG): $(HONCH_LIB)
