/* A TensorFlow Lite Micro-style int8 segmentation output in, dice and focal loss out.
 *
 * After `interpreter.Invoke()` the output tensor holds one int8 logit per pixel, with its
 * quantization in `output->params.scale` and `output->params.zero_point`; the label is a
 * bit-packed mask (1 = foreground, least significant bit first). The codes are counted once
 * (no float buffer), then every loss reads the counts. */
#include <math.h>
#include <stdio.h>

#include "loss_core.h"

#define PIXELS 64

/* Dice loss (MONAI `DiceLoss(sigmoid=True)`) and focal loss (torchvision
 * `sigmoid_focal_loss`, mean) of one frame. */
static lc_status frame_losses(const int8_t *logits, size_t n, float scale, int32_t zero_point,
                              const uint8_t *mask_bits, float *dice_loss, float *focal_loss) {
    static lc_code_counts_i8 counts; /* 2 KiB: static, off a small stack */
    lc_quantization q = {scale, zero_point};
    lc_targets mask = {LC_TARGETS_BITS, mask_bits, n};
    lc_sigmoid_focal_config focal = lc_sigmoid_focal_default(); /* alpha 0.25, gamma 2, mean */
    lc_overlap_config dice = lc_overlap_default();              /* smooth 1e-5 */
    dice.predictions = LC_PREDICTIONS_LOGITS;                   /* sigmoid on the fly */
    lc_status s = lc_code_counts_i8_init(&counts);
    if (s == LC_OK) {
        s = lc_code_counts_i8_push(&counts, logits, n, &mask); /* tile by tile if need be */
    }
    if (s == LC_OK) {
        s = lc_quantized_overlap_loss_i8(&dice, q, &counts, dice_loss);
    }
    if (s == LC_OK) {
        s = lc_quantized_sigmoid_focal_loss_i8(&focal, q, &counts, focal_loss);
    }
    return s;
}

int main(void) {
    int8_t output[PIXELS];           /* interpreter.output(0)->data.int8 */
    uint8_t mask[PIXELS / 8] = {0};  /* the frame's label */
    const float scale = 0.125f;      /* output->params.scale */
    const int32_t zero_point = -8;   /* output->params.zero_point */
    float dice_loss, focal_loss;
    for (int i = 0; i < PIXELS; i++) {
        int foreground = (i % 8) >= 2 && (i % 8) < 6 && i >= 16 && i < 48;
        mask[i / 8] |= (uint8_t)(foreground << (i % 8));
        output[i] = (int8_t)(foreground ? 40 - i % 5 : -60 + i % 7); /* a confident model */
    }
    output[20] = -90; /* two mistakes */
    output[3] = 70;

    lc_status s = frame_losses(output, PIXELS, scale, zero_point, mask, &dice_loss, &focal_loss);
    if (s != LC_OK) {
        printf("error: %s\n", lc_status_message(s));
        return 1;
    }
    printf("dice loss %.6f, focal loss %.6f\n", dice_loss, focal_loss);

    /* The same losses on the dequantized logits through the f32 calls agree to float rounding
     * (the counted path sums per code, not per pixel). */
    float logits[PIXELS], dice_f32, focal_f32;
    lc_quantization q = {scale, zero_point};
    lc_targets t = {LC_TARGETS_BITS, mask, PIXELS};
    lc_sigmoid_focal_config focal = lc_sigmoid_focal_default();
    lc_overlap_config dice = lc_overlap_default();
    dice.predictions = LC_PREDICTIONS_LOGITS;
    for (int i = 0; i < PIXELS; i++) {
        lc_dequantize_i8(q, output[i], &logits[i]);
    }
    if (lc_overlap_loss(&dice, logits, PIXELS, &t, &dice_f32) != LC_OK ||
        lc_sigmoid_focal_loss(&focal, logits, PIXELS, &t, &focal_f32) != LC_OK) {
        return 1;
    }
    int agree = fabsf(dice_f32 - dice_loss) <= 1e-6f * fabsf(dice_f32) &&
                fabsf(focal_f32 - focal_loss) <= 1e-6f * fabsf(focal_f32);
    printf("f32 path: dice loss %.6f, focal loss %.6f (%s)\n", dice_f32, focal_f32,
           agree ? "agree" : "DIFFER");
    return agree ? 0 : 1;
}
