/* The C API on the device: every golden case and the extra checks through libloss_core_c.a,
 * reported as `C API: N passed, N failed` over semihosting (read by `cargo xtask qemu`). */
#include "board.h"
#include "golden_cases.h"

static uint32_t extra_failed;

static void on_fail(const char *what) {
    fw_print("FAIL extra: ");
    fw_print(what);
    fw_print("\n");
    extra_failed++;
}

/* With G_PART (the M0: its flash holds one part at a time) one part of the cases, the extra
 * checks with part 0; without, every case. */
#ifdef G_PART
#define CAT2(a, b, c) a##b##c
#define CAT(a, b, c) CAT2(a, b, c)
#define PART_CASES CAT(g_part, G_PART, )
#define PART_COUNT CAT(g_part, G_PART, _count)
static size_t count(void) { return PART_COUNT; }
static const gcase *case_at(size_t i) { return &PART_CASES[i]; }
#define RUN_EXTRAS (G_PART == 0)
#else
static size_t count(void) { return g_case_count(); }
static const gcase *case_at(size_t i) { return g_case(i); }
#define RUN_EXTRAS 1
#endif

int main(void) {
    uint32_t passed = 0, failed = 0;
    for (size_t i = 0; i < count(); i++) {
        if (g_check(case_at(i))) {
            passed++;
        } else {
            fw_print("FAIL case ");
            fw_print_u32((uint32_t)i);
            fw_print("\n");
            failed++;
        }
    }
    if (RUN_EXTRAS) {
        passed += (uint32_t)g_extra_checks(on_fail);
        failed += extra_failed;
    }
    fw_print("C API: ");
    fw_print_u32(passed);
    fw_print(" passed, ");
    fw_print_u32(failed);
    fw_print(" failed\npeak stack ");
    fw_print_u32(fw_peak_stack());
    fw_print(" B\n");
    return failed == 0 ? 0 : 1;
}
