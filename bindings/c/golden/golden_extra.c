/* Checks of the C API that the golden cases do not reach: the monitor and the frame signals
 * against loss-core's values (generated into golden_cases.c), the caller-allocated states'
 * sizes, merging code counts, and every kind of bad call (NULL pointers, bad lengths,
 * misaligned pointers, unknown enum values, uninitialised states, the class capacity). */
#include <string.h>

#include "golden_cases.h"

static int passed;

/* The large states live in the evaluator's arena, one check at a time (the M0 has 16 KiB of
 * RAM). */
#define ARENA(type) ((type *)g_arena(sizeof(type)))
static void (*report)(const char *what);

#define CHECK(cond, what)                                                                          \
    do {                                                                                           \
        if (cond) {                                                                                \
            passed++;                                                                              \
        } else {                                                                                   \
            report(what);                                                                          \
        }                                                                                          \
    } while (0)

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Equal bits, or both NaN. */
static bool same(float f, uint32_t expected) {
    uint32_t u = bits(f);
    bool nan_f = (u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu) != 0;
    bool nan_e = (expected & 0x7f800000u) == 0x7f800000u && (expected & 0x7fffffu) != 0;
    return u == expected || (nan_f && nan_e);
}

typedef struct {
    size_t seen;
    bool all_match;
} event_log;

static void on_event(const lc_event *e, void *user) {
    event_log *log = (event_log *)user;
    if (log->seen >= g_mon_event_count) {
        log->all_match = false;
        return;
    }
    const gmon_event *x = &g_mon_events[log->seen++];
    bool ok = e->kind == x->kind && e->frame == x->frame && e->signal == x->signal;
    if (e->kind == LC_EVENT_TRANSITION) {
        ok = ok && e->from == x->from && e->to == x->to && e->cause == x->cause &&
             same(e->value, x->value) && same(e->baseline_mean, x->mean);
    } else if (e->kind == LC_EVENT_FAULT) {
        ok = ok && same(e->value, x->value);
    } else {
        ok = ok && same(e->baseline_mean, x->mean) && same(e->baseline_std, x->std);
    }
    log->all_match = log->all_match && ok;
}

static void monitor_checks(void) {
    lc_signal_config cfg[2];
    lc_monitor *const m = ARENA(lc_monitor);
    event_log log = {0, true};
    lc_level level = LC_LEVEL_OK;
    uint32_t frames;
    CHECK(lc_signal_config_default(LC_SIGNAL_CONFIDENCE, 0, &cfg[0]) == LC_OK, "signal default");
    CHECK(cfg[0].learn_frames == 128 && cfg[0].debounce == 3 && cfg[0].warn == 3.0f &&
              cfg[0].direction == LC_DIRECTION_DOWN,
          "signal defaults are loss-core's");
    cfg[0].use_baseline = true;
    cfg[0].baseline_mean = 0.92f;
    cfg[0].baseline_std = 0.01f;
    CHECK(lc_signal_config_default(LC_SIGNAL_ENTROPY, 0, &cfg[1]) == LC_OK, "signal default");
    cfg[1].learn_frames = 16;
    CHECK(lc_signal_config_default(99, 0, &cfg[1]) == LC_BAD_ENUM, "unknown signal kind");
    CHECK(lc_monitor_init(m, cfg, 0) == LC_BAD_LENGTH, "monitor of no signal");
    CHECK(lc_monitor_init(m, cfg, LC_MONITOR_MAX_SIGNALS + 1) == LC_BAD_LENGTH, "too many signals");
    CHECK(lc_monitor_init(m, cfg, 2) == LC_OK, "monitor init");
    for (size_t f = 0; f < 100; f++) {
        float values[2] = {g_mon_conf[f], g_mon_ent[f]};
        bool measured[2] = {true, g_mon_measured[f]};
        if (lc_monitor_observe(m, values, measured, 2, on_event, &log, &level) != LC_OK) {
            log.all_match = false;
        }
    }
    CHECK(log.all_match && log.seen == g_mon_event_count, "monitor events are loss-core's");
    CHECK(level == g_mon_level, "monitor level");
    CHECK(lc_monitor_level(m, &level) == LC_OK && level == g_mon_level, "lc_monitor_level");
    CHECK(lc_monitor_frames(m, &frames) == LC_OK && frames == g_mon_frames, "lc_monitor_frames");
    for (size_t i = 0; i < 2; i++) {
        lc_summary s;
        const uint32_t *x = g_mon_summary[i];
        CHECK(lc_monitor_summary(m, i, &s) == LC_OK && s.level == x[0] && s.count == x[1] &&
                  same(s.mean, x[2]) && same(s.min, x[3]) && same(s.median, x[4]) &&
                  same(s.max, x[5]) && same(s.ewma, x[6]) && same(s.cusum, x[7]),
              "monitor summary is loss-core's");
    }
    {
        lc_summary s;
        float one = 0.5f;
        CHECK(lc_monitor_summary(m, 2, &s) == LC_BAD_LENGTH, "summary past the signals");
        CHECK(lc_monitor_observe(m, &one, NULL, 1, NULL, NULL, NULL) == LC_BAD_LENGTH,
              "observe with the wrong value count");
    }
}

static bool label_free_is(const lc_label_free *l, const glabel_free *x) {
    bool ok = l->pixels == x->pixels && l->classes == x->classes && same(l->entropy, x->entropy) &&
              same(l->confidence, x->confidence) && l->has_previous == x->has_previous &&
              same(l->consistency, x->consistency) && same(l->consistency_iou, x->consistency_iou) &&
              same(l->agreement, x->agreement);
    for (size_t c = 0; c < LC_MAX_CLASSES; c++) {
        ok = ok && same(l->area[c], x->area[c]);
    }
    return ok;
}

static void frame_signal_checks(void) {
    lc_frame_signals fs;
    lc_label_free l;
    uint8_t mask[32];
    memcpy(mask, g_fs_previous, sizeof mask);
    CHECK(lc_frame_signals_init(&fs, LC_PREDICTIONS_LOGITS, 4, mask, sizeof mask, true) == LC_OK,
          "frame signals init");
    for (size_t tile = 0; tile < 4; tile++) {
        CHECK(lc_frame_signals_push(&fs, LC_LAYOUT_CHANNELS_LAST, g_fs_scores + 32 * tile, 32) == LC_OK,
              "frame signals push");
    }
    CHECK(lc_frame_signals_push(&fs, LC_LAYOUT_CHANNELS_LAST, g_fs_scores, 3) == LC_SHAPE_MISMATCH,
          "frame signals reject a partial pixel");
    CHECK(lc_frame_signals_finish(&fs, &l) == LC_OK && label_free_is(&l, &g_fs_expected),
          "frame signals are loss-core's");
    CHECK(memcmp(mask, g_fs_mask_after, sizeof mask) == 0, "the mask holds this frame's classes");

    lc_class_quantization q = {false, {0.0625f, -3}, NULL, 0};
    CHECK(lc_frame_signals_init(&fs, LC_PREDICTIONS_LOGITS, 4, NULL, 0, false) == LC_OK,
          "frame signals init");
    CHECK(lc_frame_signals_push_codes_i8(&fs, LC_LAYOUT_CHANNELS_LAST, g_fs_codes, 128, &q) == LC_OK,
          "frame signals push codes");
    CHECK(lc_frame_signals_finish(&fs, &l) == LC_OK && label_free_is(&l, &g_fs_codes_expected),
          "frame signals on codes are loss-core's");
    CHECK(lc_frame_signals_init(&fs, LC_PREDICTIONS_LOGITS, LC_MAX_CLASSES + 1, NULL, 0, false) ==
              LC_TOO_MANY_CLASSES,
          "frame signals of too many classes");
}

static void size_checks(void) {
    CHECK(sizeof(lc_sigmoid_focal_accumulator) == 8 + 8 * LC_FOCAL_ACCUMULATOR_WORDS, "size");
    CHECK(sizeof(lc_binary_focal_accumulator) == 8 + 8 * LC_FOCAL_ACCUMULATOR_WORDS, "size");
    CHECK(sizeof(lc_overlap_accumulator) == 8 + 8 * LC_OVERLAP_ACCUMULATOR_WORDS, "size");
    CHECK(sizeof(lc_class_loss_accumulator) == 8 + 8 * LC_CLASS_LOSS_ACCUMULATOR_WORDS, "size");
    CHECK(sizeof(lc_class_stats_accumulator) == 8 + 8 * LC_CLASS_STATS_ACCUMULATOR_WORDS, "size");
    CHECK(sizeof(lc_confusion_accumulator) == 8 + 8 * LC_CONFUSION_ACCUMULATOR_WORDS, "size");
    CHECK(sizeof(lc_code_counts_i8) == 8 + 8 * LC_CODE_COUNTS_WORDS, "size");
    CHECK(sizeof(lc_code_counts_u8) == 8 + 8 * LC_CODE_COUNTS_WORDS, "size");
    CHECK(sizeof(lc_monitor) == 8 + 8 * LC_MONITOR_WORDS, "size");
    CHECK(sizeof(lc_frame_signals) == 8 + 8 * LC_FRAME_SIGNALS_WORDS, "size");
}

static void bad_call_checks(void) {
    lc_sigmoid_focal_config f = lc_sigmoid_focal_default();
    float p[4] = {3.0f, -2.0f, 0.5f, -4.0f}, t[4] = {1.0f, 0.0f, 1.0f, 0.0f}, out = 0.0f;
    uint8_t bytes[4] = {1, 0, 1, 0};
    lc_targets tf = {LC_TARGETS_F32, t, 4}, tb = {LC_TARGETS_BYTES, bytes, 4};
    lc_sigmoid_focal_accumulator acc;

    CHECK(lc_sigmoid_focal_loss(&f, p, 4, &tf, &out) == LC_OK && out > 0.0f, "focal");
    CHECK(lc_sigmoid_focal_loss(NULL, p, 4, &tf, &out) == LC_NULL_POINTER, "NULL config");
    CHECK(lc_sigmoid_focal_loss(&f, NULL, 4, &tf, &out) == LC_NULL_POINTER, "NULL data");
    CHECK(lc_sigmoid_focal_loss(&f, p, 4, NULL, &out) == LC_NULL_POINTER, "NULL targets");
    CHECK(lc_sigmoid_focal_loss(&f, p, 4, &tf, NULL) == LC_NULL_POINTER, "NULL out");
    CHECK(lc_sigmoid_focal_loss(&f, NULL, 0, &tf, &out) == LC_LENGTH_MISMATCH, "NULL with 0");
    CHECK(lc_sigmoid_focal_loss(&f, p, SIZE_MAX, &tf, &out) == LC_BAD_LENGTH, "huge length");
    CHECK(lc_sigmoid_focal_loss(&f, (const float *)((const char *)p + 1), 2, &tf, &out) ==
              LC_MISALIGNED,
          "misaligned data");
    CHECK(lc_sigmoid_focal_loss(&f, p, 3, &tf, &out) == LC_LENGTH_MISMATCH, "length mismatch");
    {
        float from_mask;
        CHECK(lc_sigmoid_focal_loss(&f, p, 4, &tb, &from_mask) == LC_OK && from_mask == out,
              "a byte mask gives the f32 targets' bits");
    }
    {
        bool found = true;
        float bad[2] = {1.0f, 0.0f / 0.0f};
        CHECK(lc_first_non_finite(bad, 2, &found, NULL) == LC_NULL_POINTER && found,
              "a call with a NULL second result writes nothing");
    }
    f.reduction = 7;
    CHECK(lc_sigmoid_focal_loss(&f, p, 4, &tf, &out) == LC_BAD_ENUM, "unknown reduction");
    f = lc_sigmoid_focal_default();
    f.gamma = -1.0f;
    CHECK(lc_sigmoid_focal_loss(&f, p, 4, &tf, &out) == LC_INVALID_PARAMETER, "negative gamma");
    f = lc_sigmoid_focal_default();
    tf.kind = 9;
    CHECK(lc_sigmoid_focal_loss(&f, p, 4, &tf, &out) == LC_BAD_ENUM, "unknown target kind");
    tf.kind = LC_TARGETS_F32;

    memset(&acc, 0, sizeof acc);
    CHECK(lc_sigmoid_focal_accumulator_push(&acc, p, 4, &tf) == LC_NOT_INITIALIZED,
          "uninitialised accumulator");
    CHECK(lc_sigmoid_focal_accumulator_init(&acc, &f) == LC_OK, "init");
    CHECK(lc_sigmoid_focal_accumulator_finish(&acc, &out) == LC_EMPTY_INPUT, "empty accumulator");
    CHECK(lc_overlap_accumulator_push((lc_overlap_accumulator *)(void *)&acc, p, 4, &tf) ==
              LC_NOT_INITIALIZED,
          "a state of another type");

    {
        lc_class_loss_config cl = lc_class_loss_default();
        lc_class_loss_accumulator *const a = ARENA(lc_class_loss_accumulator);
        CHECK(lc_class_loss_accumulator_init(a, &cl, LC_MAX_CLASSES) == LC_OK, "16 classes");
        CHECK(lc_class_loss_accumulator_init(a, &cl, LC_MAX_CLASSES + 1) == LC_TOO_MANY_CLASSES,
              "17 classes");
        lc_shape bad = {1, 0, 4, LC_LAYOUT_CHANNELS_LAST};
        size_t n;
        CHECK(lc_shape_elements(&bad, &n) == LC_INVALID_PARAMETER, "zero classes");
        bad.classes = 2;
        bad.layout = 5;
        CHECK(lc_shape_elements(&bad, &n) == LC_BAD_ENUM, "unknown layout");
    }
    {
        lc_code_counts_i8 *const k = ARENA(lc_code_counts_i8);
        int8_t codes[4] = {-5, 3, 100, -128};
        CHECK(lc_code_counts_i8_init(k) == LC_OK, "counts init");
        CHECK(lc_code_counts_i8_push(k, codes, 4, &tf) == LC_BAD_TARGETS, "f32 targets for codes");
        uint8_t bad[4] = {1, 0, 2, 0};
        lc_targets tbad = {LC_TARGETS_BYTES, bad, 4};
        CHECK(lc_code_counts_i8_push(k, codes, 4, &tbad) == LC_OUT_OF_RANGE, "mask byte 2");
        lc_quantization q = {0.0f, 0};
        CHECK(lc_quantization_check(q) == LC_INVALID_PARAMETER, "zero scale");
    }
    for (lc_status s = 0; s < 120; s++) {
        const char *m = lc_status_message(s);
        bool known = s <= LC_UNKNOWN_ERROR || (s >= LC_NULL_POINTER && s <= LC_UNSUPPORTED);
        if (m == NULL || (known == (strcmp(m, "unknown status") == 0))) {
            report("status message");
            return;
        }
    }
    passed++;
}

/* Counts the second tile in counts of its own and merges them into `a` (a frame of its own:
 * its 2 KiB are off the stack before the losses run). */
static __attribute__((noinline)) bool merge_tile(lc_code_counts_i8 *a, const int8_t *codes,
                                                 size_t n, const lc_targets *m) {
    lc_code_counts_i8 b;
    return lc_code_counts_i8_init(&b) == LC_OK && lc_code_counts_i8_push(&b, codes, n, m) == LC_OK &&
           lc_code_counts_i8_merge(a, &b) == LC_OK;
}

/* Counting a frame in two tiles and merging gives the counts of one push, and the quantized
 * focal terms are the f32 terms of the dequantized codes. */
static void quantized_checks(void) {
    int8_t codes[64];
    uint8_t mask[8];
    float logits[64], terms_q[64], terms_f[64];
    lc_quantization q = {0.125f, -8};
    lc_sigmoid_focal_config f = lc_sigmoid_focal_default();
    lc_overlap_config d = lc_overlap_default();
    lc_code_counts_i8 *const a = ARENA(lc_code_counts_i8);
    float fa = 0.0f, fb = 1.0f, da = 0.0f, db = 1.0f;
    uint64_t n;
    for (int i = 0; i < 64; i++) {
        codes[i] = (int8_t)((i * 53 + 7) % 256 - 128);
    }
    for (int i = 0; i < 8; i++) {
        mask[i] = (uint8_t)(0x5a ^ (i * 29));
    }
    lc_targets m_all = {LC_TARGETS_BITS, mask, 64}, m_a = {LC_TARGETS_BITS, mask, 24},
               m_b = {LC_TARGETS_BITS, mask + 3, 40};
    d.predictions = LC_PREDICTIONS_LOGITS;
    /* One push of the frame. */
    CHECK(lc_code_counts_i8_init(a) == LC_OK && lc_code_counts_i8_push(a, codes, 64, &m_all) == LC_OK,
          "push");
    CHECK(lc_quantized_sigmoid_focal_loss_i8(&f, q, a, &fa) == LC_OK &&
              lc_quantized_overlap_loss_i8(&d, q, a, &da) == LC_OK,
          "losses of one push");
    /* Two tiles, merged. */
    CHECK(lc_code_counts_i8_reset(a) == LC_OK && lc_code_counts_i8_count(a, &n) == LC_OK && n == 0,
          "reset");
    CHECK(lc_code_counts_i8_push(a, codes, 24, &m_a) == LC_OK, "push");
    CHECK(merge_tile(a, codes + 24, 40, &m_b), "push and merge");
    CHECK(lc_code_counts_i8_merge(a, a) == LC_INVALID_PARAMETER, "merging counts into themselves");
    CHECK(lc_code_counts_i8_count(a, &n) == LC_OK && n == 64, "merged count");
    CHECK(lc_quantized_sigmoid_focal_loss_i8(&f, q, a, &fb) == LC_OK && bits(fa) == bits(fb),
          "merged counts give the one-push focal loss");
    CHECK(lc_quantized_overlap_loss_i8(&d, q, a, &db) == LC_OK && bits(da) == bits(db),
          "merged counts give the one-push dice loss");
    for (int i = 0; i < 64; i++) {
        lc_dequantize_i8(q, codes[i], &logits[i]);
    }
    CHECK(lc_quantized_sigmoid_focal_elementwise_i8(&f, q, codes, 64, &m_all, terms_q, 64) == LC_OK &&
              lc_sigmoid_focal_elementwise(&f, logits, 64, &m_all, terms_f, 64) == LC_OK &&
              memcmp(terms_q, terms_f, sizeof terms_q) == 0,
          "quantized terms are the f32 terms of the dequantized codes");
}

/* The defaults are the documented ones, and a reset accumulator is a new one. */
static void default_and_reset_checks(void) {
    static const float p[8] = {2.0f, -1.0f, 0.5f, -3.0f, 1.5f, -0.5f, 4.0f, -2.0f};
    static const float prob[8] = {0.9f, 0.2f, 0.6f, 0.1f, 0.8f, 0.4f, 0.95f, 0.3f};
    static const float t[8] = {1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 1.0f, 1.0f, 0.0f};
    static const uint8_t labels[4] = {0, 2, 1, 2};
    lc_targets tt = {LC_TARGETS_F32, t, 8};
    lc_binary_focal_config b = lc_binary_focal_default();
    lc_class_loss_config cl = lc_class_loss_default();
    lc_class_overlap co = lc_class_overlap_default();
    lc_class_reduction cr = lc_class_reduction_default();
    lc_generalized_dice_config gd = lc_generalized_dice_default();
    lc_decision dec = lc_decision_default();
    lc_overlap_config d = lc_overlap_default();
    lc_sigmoid_focal_config f = lc_sigmoid_focal_default();
    CHECK(b.kind == LC_BINARY_FOCAL_CLAMPED && b.use_alpha && b.alpha == 0.25f && b.gamma == 2.0f &&
              b.clamp_min == 1e-3f && b.clamp_max == 0.999f && b.soft_targets == LC_SOFT_TARGETS_KORNIA,
          "binary focal default: the seed article's FocalLoss");
    CHECK(f.use_alpha && f.alpha == 0.25f && f.gamma == 2.0f && f.reduction == LC_REDUCTION_MEAN,
          "sigmoid focal default: torchvision's");
    CHECK(d.kind == LC_OVERLAP_DICE && !d.set_smoothing && d.predictions == LC_PREDICTIONS_PROBABILITIES,
          "overlap default: MONAI's DiceLoss");
    CHECK(cl.kind == LC_CLASS_LOSS_SOFTMAX && cl.gamma == 2.0f && cl.alpha_kind == LC_CLASS_ALPHA_NONE &&
              cl.weights == NULL,
          "class loss default");
    CHECK(co.activation == LC_ACTIVATION_NONE && !co.squared && co.intersection == LC_INTERSECTION_PRODUCT,
          "class overlap default");
    CHECK(cr.include_background && cr.weights == NULL && cr.empty == LC_EMPTY_CLASS_FORMULA &&
              cr.reduction == LC_REDUCTION_MEAN,
          "class reduction default: MONAI's");
    CHECK(gd.weight_type == LC_WEIGHT_TYPE_SQUARE && gd.smooth_nr == 1e-5f && gd.include_background,
          "generalized dice default: MONAI's");
    CHECK(dec.kind == LC_DECISION_ARGMAX, "decision default: argmax");

    /* Each accumulator: a reset one gives a new one's result. */
    {
        lc_sigmoid_focal_accumulator a, n;
        float x = 0.0f, y = 1.0f;
        uint64_t c = 1;
        lc_sigmoid_focal_accumulator_init(&a, &f);
        lc_sigmoid_focal_accumulator_init(&n, &f);
        lc_sigmoid_focal_accumulator_push(&a, p, 8, &tt);
        CHECK(lc_sigmoid_focal_accumulator_reset(&a) == LC_OK &&
                  lc_sigmoid_focal_accumulator_count(&a, &c) == LC_OK && c == 0 &&
                  lc_sigmoid_focal_accumulator_push(&a, p, 8, &tt) == LC_OK &&
                  lc_sigmoid_focal_accumulator_push(&n, p, 8, &tt) == LC_OK &&
                  lc_sigmoid_focal_accumulator_finish(&a, &x) == LC_OK &&
                  lc_sigmoid_focal_accumulator_finish(&n, &y) == LC_OK && bits(x) == bits(y),
              "sigmoid focal accumulator reset");
    }
    {
        lc_binary_focal_accumulator a, n;
        float x = 0.0f, y = 1.0f;
        uint64_t c = 1;
        lc_binary_focal_accumulator_init(&a, &b);
        lc_binary_focal_accumulator_init(&n, &b);
        lc_binary_focal_accumulator_push(&a, prob, 8, &tt);
        CHECK(lc_binary_focal_accumulator_reset(&a) == LC_OK &&
                  lc_binary_focal_accumulator_count(&a, &c) == LC_OK && c == 0 &&
                  lc_binary_focal_accumulator_push(&a, prob, 8, &tt) == LC_OK &&
                  lc_binary_focal_accumulator_push(&n, prob, 8, &tt) == LC_OK &&
                  lc_binary_focal_accumulator_finish(&a, &x) == LC_OK &&
                  lc_binary_focal_accumulator_finish(&n, &y) == LC_OK && bits(x) == bits(y),
              "binary focal accumulator reset");
    }
    {
        lc_overlap_accumulator a, n;
        float x = 0.0f, y = 1.0f;
        lc_overlap_accumulator_init(&a, &d);
        lc_overlap_accumulator_init(&n, &d);
        lc_overlap_accumulator_push(&a, prob, 8, &tt);
        CHECK(lc_overlap_accumulator_reset(&a) == LC_OK &&
                  lc_overlap_accumulator_finish(&a, &x) == LC_EMPTY_INPUT &&
                  lc_overlap_accumulator_push(&a, prob, 8, &tt) == LC_OK &&
                  lc_overlap_accumulator_push(&n, prob, 8, &tt) == LC_OK &&
                  lc_overlap_accumulator_finish(&a, &x) == LC_OK &&
                  lc_overlap_accumulator_finish(&n, &y) == LC_OK && bits(x) == bits(y),
              "overlap accumulator reset");
    }
    {
        /* 2 pixels of 3 classes (channels last), a uint8 label map. */
        lc_class_targets lt = {LC_CLASS_TARGETS_U8, labels, 2, false, 0};
        lc_class_loss_accumulator *const a = ARENA(lc_class_loss_accumulator);
        float x = 0.0f, y = 1.0f;
        uint64_t px = 1;
        lc_class_loss_accumulator_init(a, &cl, 3);
        lc_class_loss_accumulator_push(a, LC_LAYOUT_CHANNELS_LAST, p, 6, &lt);
        lc_class_loss_accumulator_total(a, &y);
        CHECK(lc_class_loss_accumulator_reset(a) == LC_OK && lc_class_loss_accumulator_pixels(a, &px) == LC_OK &&
                  px == 0 && lc_class_loss_accumulator_push(a, LC_LAYOUT_CHANNELS_LAST, p, 6, &lt) == LC_OK &&
                  lc_class_loss_accumulator_total(a, &x) == LC_OK && bits(x) == bits(y),
              "class loss accumulator reset");
    }
    {
        lc_class_targets lt = {LC_CLASS_TARGETS_U8, labels, 2, false, 0};
        lc_class_stats_accumulator *const a = ARENA(lc_class_stats_accumulator);
        lc_overlap_stats s1[3], s2[3];
        float g1 = 0.0f, g2 = 1.0f, r = 0.0f;
        uint64_t px = 1;
        lc_class_stats_accumulator_init(a, &co, 3);
        lc_class_stats_accumulator_push(a, LC_LAYOUT_CHANNELS_LAST, prob, 6, &lt);
        lc_class_stats_accumulator_stats(a, s1, 3);
        CHECK(lc_class_stats_accumulator_reset(a) == LC_OK && lc_class_stats_accumulator_pixels(a, &px) == LC_OK &&
                  px == 0 && lc_class_stats_accumulator_push(a, LC_LAYOUT_CHANNELS_LAST, prob, 6, &lt) == LC_OK &&
                  lc_class_stats_accumulator_stats(a, s2, 3) == LC_OK &&
                  lc_generalized_dice_loss(&gd, s1, 3, &g1) == LC_OK &&
                  lc_generalized_dice_loss(&gd, s2, 3, &g2) == LC_OK && bits(g1) == bits(g2) &&
                  lc_class_reduce(&cr, &d, s2, 3, 3, &r) == LC_OK,
              "class stats accumulator reset, generalized dice and class reduction defaults");
    }
    {
        lc_class_targets lt = {LC_CLASS_TARGETS_U8, labels, 2, false, 0};
        lc_confusion_accumulator *const a = ARENA(lc_confusion_accumulator);
        lc_confusion_counts k[3];
        size_t n = 0;
        lc_confusion_accumulator_init(a, &dec, 3);
        lc_confusion_accumulator_push(a, LC_LAYOUT_CHANNELS_LAST, p, 6, &lt);
        CHECK(lc_confusion_accumulator_reset(a) == LC_OK && lc_confusion_accumulator_counts(a, k, 3, &n) == LC_OK &&
                  n == 3 && k[0].true_positives + k[0].false_negatives + k[1].true_positives == 0,
              "confusion accumulator reset");
    }
}

/* merge_tile for uint8 codes. */
static __attribute__((noinline)) bool merge_tile_u8(lc_code_counts_u8 *a, const uint8_t *codes,
                                                    size_t n, const lc_targets *m) {
    lc_code_counts_u8 b;
    return lc_code_counts_u8_init(&b) == LC_OK && lc_code_counts_u8_push(&b, codes, n, m) == LC_OK &&
           lc_code_counts_u8_merge(a, &b) == LC_OK;
}

/* The uint8 code calls: counts in tiles merge into the one-push counts, the terms are the f32
 * terms of the dequantized codes, and the frame signals on uint8 codes run. */
static void u8_checks(void) {
    uint8_t codes[48], mask[48];
    float probs[48], terms_q[48], terms_f[48];
    lc_quantization q = {1.0f / 255.0f, 0};
    lc_binary_focal_config b = lc_binary_focal_default();
    lc_code_counts_u8 *const a = ARENA(lc_code_counts_u8);
    float f1 = 0.0f, f2 = 1.0f;
    uint64_t n = 0;
    for (int i = 0; i < 48; i++) {
        codes[i] = (uint8_t)((i * 71 + 13) % 256);
        mask[i] = (uint8_t)(codes[i] > 128);
        mask[i] ^= (uint8_t)(i % 7 == 0);
    }
    lc_targets all = {LC_TARGETS_BYTES, mask, 48}, first = {LC_TARGETS_BYTES, mask, 20},
               rest = {LC_TARGETS_BYTES, mask + 20, 28};
    CHECK(lc_code_counts_u8_init(a) == LC_OK && lc_code_counts_u8_push(a, codes, 48, &all) == LC_OK &&
              lc_quantized_binary_focal_loss_u8(&b, q, a, &f1) == LC_OK,
          "uint8 probability codes");
    CHECK(lc_code_counts_u8_reset(a) == LC_OK && lc_code_counts_u8_count(a, &n) == LC_OK && n == 0 &&
              lc_code_counts_u8_push(a, codes, 20, &first) == LC_OK &&
              merge_tile_u8(a, codes + 20, 28, &rest) &&
              lc_quantized_binary_focal_loss_u8(&b, q, a, &f2) == LC_OK && bits(f1) == bits(f2),
          "uint8 counts reset and merge");
    for (int i = 0; i < 48; i++) {
        lc_dequantize_u8(q, codes[i], &probs[i]);
    }
    CHECK(lc_quantized_binary_focal_elementwise_u8(&b, q, codes, 48, &all, terms_q, 48) == LC_OK &&
              lc_binary_focal_elementwise(&b, probs, 48, &all, terms_f, 48) == LC_OK &&
              memcmp(terms_q, terms_f, sizeof terms_q) == 0,
          "uint8 terms are the f32 terms of the dequantized codes");
    {
        lc_frame_signals fs;
        lc_label_free l;
        lc_class_quantization cq = {false, {0.0625f, 128}, NULL, 0};
        CHECK(lc_frame_signals_init(&fs, LC_PREDICTIONS_LOGITS, 4, NULL, 0, false) == LC_OK &&
                  lc_frame_signals_push_codes_u8(&fs, LC_LAYOUT_CHANNELS_LAST, codes, 48, &cq) == LC_OK &&
                  lc_frame_signals_finish(&fs, &l) == LC_OK && l.pixels == 12 && l.classes == 4 &&
                  l.entropy >= 0.0f && l.entropy <= 1.0f && l.confidence >= 0.25f && l.confidence <= 1.0f,
              "frame signals on uint8 codes");
    }
}

/* The comparison itself can fail: a case with one expected bit flipped does not match. */
static void negative_control(void) {
    for (size_t i = 0; i < g_part0_count; i++) {
        if (g_part0[i].status == LC_OK && g_part0[i].n_words > 0) {
            uint32_t words[G_MAX_WORDS];
            gcase flipped = g_part0[i];
            memcpy(words, flipped.words, flipped.n_words * sizeof words[0]);
            words[0] ^= 1u;
            flipped.words = words;
            CHECK(g_check(&g_part0[i]) && !g_check(&flipped), "a flipped bit is caught");
            return;
        }
    }
}

int g_extra_checks(void (*fail)(const char *what)) {
    passed = 0;
    report = fail;
    size_checks();
    bad_call_checks();
    quantized_checks();
    default_and_reset_checks();
    u8_checks();
    monitor_checks();
    frame_signal_checks();
    negative_control();
    return passed;
}
