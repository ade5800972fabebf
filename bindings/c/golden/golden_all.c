/* Every part of the golden cases, for the programs that run them all (the host test, the
 * M4F firmware); the M0 firmware links one part at a time (G_PART). */
#include "golden_cases.h"

static const gcase *const parts[G_PARTS] = {g_part0, g_part1, g_part2, g_part3};
static const size_t *const counts[G_PARTS] = {&g_part0_count, &g_part1_count, &g_part2_count,
                                              &g_part3_count};

size_t g_case_count(void) {
    size_t n = 0;
    for (size_t k = 0; k < G_PARTS; k++) {
        n += *counts[k];
    }
    return n;
}

const gcase *g_case(size_t i) {
    for (size_t k = 0; k < G_PARTS; k++) {
        if (i < *counts[k]) {
            return &parts[k][i];
        }
        i -= *counts[k];
    }
    return NULL;
}
