/* The lean profile on the board (`cargo xtask qemu`, linked with the link-time no-panic
 * proof): the defaults work, and each configuration that needs a part the profile leaves out
 * is LC_UNSUPPORTED, with a message naming the feature, and leaves the result untouched.
 * Exits 0 when every check holds. */
#include <string.h>

#include "board.h"
#include "loss_core.h"

static const float X[8] = {-3.0f, 2.5f, 0.1f, -0.7f, 8.0f, -8.0f, 1.5f, -1.5f};
static const float T[8] = {1.0f, 0.0f, 0.25f, 0.0f, 1.0f, 0.0f, 0.75f, 0.0f};
static const float P[8] = {0.1f, 0.9f, 0.5f, 0.3f, 0.99f, 0.01f, 0.7f, 0.2f};

static int failures;

static void check(int ok, const char *what) {
    if (!ok) {
        fw_print("FAIL lean: ");
        fw_print(what);
        fw_print("\n");
        failures++;
    }
}

/* `s` is LC_UNSUPPORTED, `out` still holds its sentinel and the message names `feature`. */
static void unsupported(lc_status s, float out, const char *feature, const char *what) {
    check(s == LC_UNSUPPORTED && out == -1.0f && strstr(lc_status_message(s), feature) != NULL,
          what);
}

int main(void) {
    lc_targets t = {LC_TARGETS_F32, T, 8};
    float out = -1.0f;

    lc_sigmoid_focal_config focal = lc_sigmoid_focal_default();
    check(lc_sigmoid_focal_loss(&focal, X, 8, &t, &out) == LC_OK && out > 0.0f, "default focal");
    focal.gamma = 3.0f; /* an integer gamma stays */
    check(lc_sigmoid_focal_loss(&focal, X, 8, &t, &out) == LC_OK, "gamma 3");
    out = -1.0f;
    focal.gamma = 1.5f;
    unsupported(lc_sigmoid_focal_loss(&focal, X, 8, &t, &out), out, "real-gamma", "gamma 1.5");
    focal = lc_sigmoid_focal_default();
    const lc_soft_targets left_out[3] = {LC_SOFT_TARGETS_MONAI, LC_SOFT_TARGETS_KORNIA,
                                         LC_SOFT_TARGETS_SMP};
    for (int i = 0; i < 3; i++) {
        focal.soft_targets = left_out[i];
        unsupported(lc_sigmoid_focal_loss(&focal, X, 8, &t, &out), out, "soft-conventions",
                    "a soft-target convention");
    }
    focal.soft_targets = 7; /* an unknown value is still a bad enum */
    check(lc_sigmoid_focal_loss(&focal, X, 8, &t, &out) == LC_BAD_ENUM, "unknown convention");

    lc_binary_focal_config binary = lc_binary_focal_default(); /* kornia's terms: kept */
    check(lc_binary_focal_loss(&binary, P, 8, &t, &out) == LC_OK, "default binary focal");
    out = -1.0f;
    binary.gamma = 0.5f;
    unsupported(lc_binary_focal_loss(&binary, P, 8, &t, &out), out, "real-gamma",
                "binary gamma 0.5");

    lc_overlap_config dice = lc_overlap_default();
    check(lc_overlap_loss(&dice, P, 8, &t, &out) == LC_OK, "default dice");
    dice.kind = LC_OVERLAP_JACCARD;
    check(lc_overlap_loss(&dice, P, 8, &t, &out) == LC_OK, "Jaccard");
    out = -1.0f;
    const lc_overlap_kind variants[3] = {LC_OVERLAP_TVERSKY, LC_OVERLAP_SEED_TORCH_DICE,
                                         LC_OVERLAP_SEED_KERAS_DICE};
    for (int i = 0; i < 3; i++) {
        dice.kind = variants[i];
        unsupported(lc_overlap_loss(&dice, P, 8, &t, &out), out, "overlap-variants",
                    "a dice variant");
    }
    dice = lc_overlap_default();
    dice.set_smoothing = true;
    unsupported(lc_overlap_loss(&dice, P, 8, &t, &out), out, "overlap-variants",
                "custom smoothing");

    return failures == 0 ? 0 : 1;
}
