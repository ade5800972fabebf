#!/usr/bin/env bash
# Cargo runner: `run.sh <board> <elf>` runs the ELF on QEMU under a timeout and decodes defmt.
# Exit status is QEMU's (the firmware's semihosting exit code; 124 on timeout).
set -u
board="$1"
elf="$2"
case "$board" in
m4) qemu=(qemu-system-arm -cpu cortex-m4 -machine mps2-an386) ;;
m0) qemu=(qemu-system-arm -machine microbit) ;;
rv32) qemu=(qemu-system-riscv32 -machine virt -bios none) ;;
*) echo "unknown board $board" >&2; exit 2 ;;
esac
timeout "${QEMU_TIMEOUT:-120}" "${qemu[@]}" -nographic -semihosting-config enable=on,target=native \
    -kernel "$elf" | defmt-print -e "$elf"
exit "${PIPESTATUS[0]}"
