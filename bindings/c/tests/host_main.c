/* The host C test: every golden case through the C API (golden/golden_eval.c), then the checks
 * that the golden cases do not reach (golden/golden_extra.c). Prints one line per failing case
 * ("FAIL <index>") and a summary; exits 1 on any failure. */
#include <stdio.h>

#include "golden_cases.h"



static int extra_failed;

static void on_fail(const char *what) {
    printf("FAIL extra: %s\n", what);
    extra_failed++;
}

int main(void) {
    size_t passed = 0, failed = 0;
    for (size_t i = 0; i < g_case_count(); i++) {
        if (g_check(g_case(i))) {
            passed++;
        } else {
            uint32_t words[G_MAX_WORDS];
            size_t n = 0;
            lc_status s = g_evaluate(g_case(i), words, &n);
            printf("FAIL %zu: status %d (expected %d), %zu words (expected %u):", i, (int)s,
                   (int)g_case(i)->status, n, (unsigned)g_case(i)->n_words);
            for (size_t k = 0; k < n && k < 8; k++) {
                printf(" %08x", (unsigned)words[k]);
            }
            printf("\n");
            failed++;
        }
    }
    int extras = g_extra_checks(on_fail);
    printf("C API golden: %zu passed, %zu failed; extra checks: %d passed, %d failed\n", passed,
           failed, extras, extra_failed);
    return failed == 0 && extra_failed == 0 ? 0 : 1;
}
