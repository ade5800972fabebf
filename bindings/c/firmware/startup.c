/* A minimal Cortex-M start-up for the C firmware: vector table, .data / .bss set-up, FPU on
 * (hard-float builds), semihosting output and exit, and stack painting for the peak stack. */
#include <stddef.h>
#include <stdint.h>

#include "board.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _stack_top;
int main(void);

/* Semihosting call (QEMU `-semihosting-config enable=on`). */
static uint32_t semihost(uint32_t op, const void *arg) {
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* Output goes to the host's stdout: SYS_OPEN of ":tt" for writing, then SYS_WRITE (SYS_WRITE0
 * would go to QEMU's debug console, which is its stderr). */
void fw_print(const char *s) {
    static uint32_t handle = 0xffffffffu;
    if (handle == 0xffffffffu) {
        uint32_t open[3] = {(uint32_t)(uintptr_t)":tt", 4 /* "w" */, 3};
        handle = semihost(0x01 /* SYS_OPEN */, open);
    }
    size_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    uint32_t write[3] = {handle, (uint32_t)(uintptr_t)s, (uint32_t)n};
    semihost(0x05 /* SYS_WRITE */, write);
}

void fw_print_u32(uint32_t v) {
    char buf[11];
    size_t i = sizeof buf - 1;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 && i > 0);
    fw_print(&buf[i]);
}

void fw_exit(int code) {
    /* SYS_EXIT_EXTENDED: ADP_Stopped_ApplicationExit with the exit code. */
    uint32_t block[2] = {0x20026u, (uint32_t)code};
    for (;;) {
        semihost(0x20, block);
    }
}

#define PAINT 0xa5a5a5a5u

uint32_t fw_peak_stack(void) {
    const uint32_t *p = &_ebss;
    while (p < &_stack_top && *p == PAINT) {
        p++;
    }
    return (uint32_t)((uintptr_t)&_stack_top - (uintptr_t)p);
}

static void fault(void) {
    fw_print("hard fault\n");
    fw_exit(102);
}

void fw_reset(void) {
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) {
        *dst++ = *src++;
    }
    for (dst = &_sbss; dst < &_ebss; dst++) {
        *dst = 0;
    }
#if defined(__ARM_FP)
    /* CPACR: full access to CP10 and CP11 (the FPU). */
    *(volatile uint32_t *)0xe000ed88u |= 0xfu << 20;
    __asm__ volatile("dsb\n isb" ::: "memory");
#endif
    {
        /* Paint the free stack below the current frame, for fw_peak_stack. */
        uint32_t here;
        uint32_t *p = &_ebss;
        while (p + 64 < &here) {
            *p++ = PAINT;
        }
    }
    fw_exit(main());
}

typedef void (*vector)(void);

__attribute__((section(".vector_table"), used)) const vector fw_vectors[16] = {
    (vector)(uintptr_t)&_stack_top, fw_reset, fault, fault, fault, fault, fault, 0, 0, 0, 0,
    fault, fault, 0, fault, fault,
};
