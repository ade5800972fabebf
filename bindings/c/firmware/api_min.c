/* Binary focal from logits and dice, one-shot, through the C API: the C counterpart of the
 * Rust firmware's `api-min`, measured by `cargo xtask size` (exits 0). Linked with the
 * link-time no-panic proof. */
#include <string.h>

#include "board.h"
#include "loss_core.h"

static const float X[16] = {-3.0f, 2.5f, 0.1f, -0.7f, 8.0f, -8.0f, 1.5f, -1.5f,
                            0.0f,  4.0f, -4.0f, 2.0f, -2.0f, 0.5f, -0.5f, 3.0f};
static const float T[16] = {1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 0.0f,
                            0.5f, 1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 0.0f, 1.0f};

volatile uint32_t checksum;

int main(void) {
    lc_sigmoid_focal_config focal = lc_sigmoid_focal_default();
    lc_overlap_config dice = lc_overlap_default();
    lc_targets t = {LC_TARGETS_F32, T, 16};
    float a = 0.0f, b = 0.0f;
    uint32_t ua, ub;
    dice.predictions = LC_PREDICTIONS_LOGITS;
    lc_status s = lc_sigmoid_focal_loss(&focal, X, 16, &t, &a);
    s |= lc_overlap_loss(&dice, X, 16, &t, &b);
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    checksum = ua ^ ub ^ (uint32_t)s;
    return s == LC_OK ? 0 : 1;
}
