# Test-only user module for the qemu port (see qemu_hal.c); never part of a real firmware.
SRC_USERMOD_C += $(USERMOD_DIR)/qemu_hal.c
