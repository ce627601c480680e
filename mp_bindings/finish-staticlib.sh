#!/bin/sh
# Makes cargo's static library fit to link into a firmware image (micropython.mk and
# micropython.cmake run it after cargo):
#
#   finish-staticlib.sh IN.a OUT.a NM OBJCOPY LIBGCC
#
# - Rust's compiler_builtins defines memcpy, memset, memcmp, strlen, 64-bit shifts and
#   divisions for bare-metal targets. The library comes first on many ports' link lines, so
#   those would replace the firmware's own routines for the whole image (on RP2040 that
#   moved libgcc's RAM-resident helpers to flash). Every such symbol that the firmware has
#   too (libgcc's, and the five C string routines every MicroPython port links) is made
#   local to its object: our code then calls the firmware's routine, like the C code does.
# - ARM unwind tables (.ARM.exidx*, .ARM.extab*) are dropped: the library never unwinds
#   (panic = abort), and some ports' linker scripts place them over .data.
# The list of localised symbols is left next to OUT.a (OUT.a.localized).
set -eu
in=$1 out=$2 nm=$3 objcopy=$4 libgcc=$5
tmp=$out.tmp
cp "$in" "$tmp"
# The embedded LLVM bitcode goes too: binutils' LTO plugin cannot read it (newer LLVM) and
# then reports the objects as having no symbols; the linker never uses it.
"$objcopy" --remove-section=.llvmbc --remove-section=.llvmcmd \
  --remove-section='.ARM.exidx*' --remove-section='.ARM.extab*' "$tmp"
# Global symbols defined by the compiler_builtins members of the archive.
"$nm" -g --defined-only "$tmp" 2>/dev/null | awk '
  /:$/ { inside = ($0 ~ /compiler_builtins/); next }
  inside && NF == 3 { print $3 }' | sort -u >"$tmp.builtins"
{
  if [ -f "$libgcc" ]; then
    "$nm" -g --defined-only "$libgcc" 2>/dev/null | awk 'NF == 3 { print $3 }'
  fi
  printf '%s\n' memcpy memmove memset memcmp strlen
} | sort -u >"$tmp.firmware"
comm -12 "$tmp.builtins" "$tmp.firmware" >"$out.localized"
if [ -s "$out.localized" ]; then
  "$objcopy" --localize-symbols="$out.localized" "$tmp"
fi
rm -f "$tmp.builtins" "$tmp.firmware"
mv "$tmp" "$out"
