#!/bin/sh
# Makes cargo's static library fit to link into a firmware image (micropython.mk and
# micropython.cmake run it after cargo):
#
#   finish-staticlib.sh IN.a OUT.a NM
#
# NM is the port's nm. The archive is rewritten with the LLVM objcopy that ships with the
# Rust toolchain (rust-objcopy): the port's binutils may not read what rustc's LLVM wrote
# (newer RISC-V relocations in debug sections, LLVM bitcode).
#
# - Rust's compiler_builtins defines memcpy, memset, memcmp, strlen, 64-bit shifts and
#   divisions, soft-float helpers for bare-metal targets. Our library comes first on many
#   ports' link lines, so those definitions would replace the firmware's own routines for
#   the whole image (on RP2040 that moved libgcc's RAM-resident helpers to flash). So:
#   the C string routines (memcpy, memmove, memset, memcmp, strlen), which every
#   MicroPython firmware links, are made local: our code calls the firmware's, like its C
#   code does. Every other global symbol of compiler_builtins (and of the C routines it
#   bundles) gets a private name
#   (honch_cb_<name>), in its definition and in our references: our code keeps its own copy
#   and the firmware keeps libgcc's. The list is left in OUT.a.symbols.
# - Debug info, LLVM bitcode and ARM unwind tables (.ARM.exidx*, .ARM.extab*) are dropped:
#   the firmware never reads them (panic = abort), and some ports' linker scripts place
#   unwind tables over .data.
set -eu
# Nothing here runs jobs: keep rustc from looking for make's jobserver, whose pipes this
# recipe does not get.
unset MAKEFLAGS MFLAGS
in=$1 out=$2 nm=$3
sysroot=$(rustc --print sysroot)
host=$(rustc -vV | sed -n 's/^host: //p')
objcopy=$sysroot/lib/rustlib/$host/bin/rust-objcopy
# rust-objcopy loads the toolchain's libLLVM (rustc finds it through its rpath).
LD_LIBRARY_PATH=$sysroot/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
tmp=$out.tmp
cp "$in" "$tmp"
"$objcopy" --strip-debug --remove-section=.llvmbc --remove-section=.llvmcmd \
  --wildcard --remove-section='.ARM.exidx*' --remove-section='.ARM.extab*' "$tmp"
# Global symbols defined by the archive's members other than our crate's own object (with
# LTO every Rust crate but compiler_builtins is inside it): compiler_builtins and the C
# objects it bundles (named <hash>-<routine>.o).
"$nm" -g --defined-only "$tmp" 2>/dev/null | awk '
  /:$/ { inside = ($0 !~ /^honch-/); next }
  inside && NF == 3 { print $3 }' | sort -u >"$tmp.builtins"
printf '%s\n' memcmp memcpy memmove memset strlen >"$tmp.c"
comm -12 "$tmp.builtins" "$tmp.c" >"$tmp.localize"
comm -23 "$tmp.builtins" "$tmp.c" | awk '{ print $1, "honch_cb_" $1 }' >"$tmp.rename"
"$objcopy" --localize-symbols="$tmp.localize" --redefine-syms="$tmp.rename" "$tmp"
{
  sed 's/^/local: /' "$tmp.localize"
  sed 's/^/renamed: /' "$tmp.rename"
} >"$out.symbols"
rm -f "$tmp.builtins" "$tmp.c" "$tmp.localize" "$tmp.rename"
mv "$tmp" "$out"
