/* The golden evaluator in C: drives each case through the C API exactly as the Rust evaluator
 * (golden/src/eval.rs, quantized.rs, codes.rs) drives it through loss-core, and collects the
 * same output words. Out-of-range sub-slices become empty slices, as `get(..)` does there. */
#include <string.h>

#include "golden_cases.h"

typedef struct {
    uint32_t *buf;
    size_t len;
} words_t;

static void put(words_t *w, uint32_t v) {
    if (w->len < G_MAX_WORDS) {
        w->buf[w->len] = v;
    }
    w->len++;
}

static void putf(words_t *w, float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    put(w, u);
}

#define TRY(x)                                                                                     \
    do {                                                                                           \
        lc_status s_ = (x);                                                                        \
        if (s_ != LC_OK) {                                                                         \
            return s_;                                                                             \
        }                                                                                          \
    } while (0)

static size_t min_z(size_t a, size_t b) { return a < b ? a : b; }

/* `scratch.get_mut(..capacity).unwrap_or(&mut [])`. */
static size_t cap_of(uint32_t capacity) { return capacity <= G_MAX_SCRATCH ? capacity : 0; }

/* The chunk plan of eval.rs (`chunk_plan`). */
typedef struct {
    const uint16_t *chunks;
    size_t k, n, start, steps, limit, i;
} plan_t;

static void plan_init(plan_t *p, const uint16_t *chunks, size_t k, size_t n) {
    p->chunks = chunks;
    p->k = k;
    p->n = n;
    p->start = 0;
    p->steps = 0;
    p->limit = (n + k) * 2;
    p->i = 0;
}

/* false when done; `*len == SIZE_MAX` for a bad chunk. */
static bool plan_next(plan_t *p, size_t *start, size_t *len) {
    if (p->k == 0) {
        return false;
    }
    uint16_t c = p->chunks[p->i % p->k];
    p->i++;
    p->steps++;
    if ((p->start >= p->n && p->steps > p->k) || p->steps > p->limit) {
        return false;
    }
    *start = p->start;
    if (c == G_BAD_CHUNK) {
        *len = SIZE_MAX;
        return true;
    }
    size_t rest = p->n - min_z(p->start, p->n);
    *len = min_z(c, rest);
    p->start += *len;
    return true;
}

static lc_targets f32_targets(const float *t, size_t len) {
    lc_targets x = {LC_TARGETS_F32, t, len};
    return x;
}

/* The evaluator's large buffers are static, not on the stack: the M0 has 16 KiB of RAM, and
 * the states the C API is tested with are the largest things here. (Not reentrant.) */
static float scratch[G_MAX_SCRATCH];

/* ---- binary focal (logits or probabilities) ------------------------------------------------ */

typedef struct {
    bool binary;
    lc_sigmoid_focal_config s;
    lc_binary_focal_config b;
} focal_t;

typedef union {
    lc_sigmoid_focal_accumulator s;
    lc_binary_focal_accumulator b;
} facc_t;

static void f_reduce(focal_t *f, uint32_t r) {
    f->s.reduction = r;
    f->b.reduction = r;
}

static lc_status f_loss(const focal_t *f, const float *p, size_t n, const lc_targets *t, float *o) {
    return f->binary ? lc_binary_focal_loss(&f->b, p, n, t, o) : lc_sigmoid_focal_loss(&f->s, p, n, t, o);
}

static lc_status f_elementwise(const focal_t *f, const float *p, size_t n, const lc_targets *t,
                               float *o, size_t cap) {
    return f->binary ? lc_binary_focal_elementwise(&f->b, p, n, t, o, cap)
                     : lc_sigmoid_focal_elementwise(&f->s, p, n, t, o, cap);
}

static lc_status f_per_sample(const focal_t *f, const float *p, size_t n, const lc_targets *t,
                              size_t samples, float *o, size_t cap) {
    return f->binary ? lc_binary_focal_per_sample(&f->b, p, n, t, samples, o, cap)
                     : lc_sigmoid_focal_per_sample(&f->s, p, n, t, samples, o, cap);
}

static lc_status fa_init(const focal_t *f, facc_t *a) {
    return f->binary ? lc_binary_focal_accumulator_init(&a->b, &f->b)
                     : lc_sigmoid_focal_accumulator_init(&a->s, &f->s);
}

static lc_status fa_push(const focal_t *f, facc_t *a, const float *p, size_t n, const lc_targets *t) {
    return f->binary ? lc_binary_focal_accumulator_push(&a->b, p, n, t)
                     : lc_sigmoid_focal_accumulator_push(&a->s, p, n, t);
}

static lc_status fa_finish(const focal_t *f, const facc_t *a, float *o) {
    return f->binary ? lc_binary_focal_accumulator_finish(&a->b, o)
                     : lc_sigmoid_focal_accumulator_finish(&a->s, o);
}

static lc_status fa_count(const focal_t *f, const facc_t *a, uint64_t *o) {
    return f->binary ? lc_binary_focal_accumulator_count(&a->b, o)
                     : lc_sigmoid_focal_accumulator_count(&a->s, o);
}

static lc_status run_element(focal_t f, const gcase *c, words_t *w) {
    lc_targets all = f32_targets(c->t, c->nt);
    switch (c->op) {
    case G_OP_LOSS: {
        float v;
        f_reduce(&f, c->reduction);
        TRY(f_loss(&f, c->p, c->np, &all, &v));
        putf(w, v);
        return LC_OK;
    }
    case G_OP_ELEMENTWISE: {
        size_t cap = cap_of(c->capacity);
        TRY(f_elementwise(&f, c->p, c->np, &all, scratch, cap));
        for (size_t i = 0; i < min_z(cap, c->np); i++) {
            putf(w, scratch[i]);
        }
        return LC_OK;
    }
    case G_OP_PER_SAMPLE: {
        size_t cap = cap_of(c->capacity);
        f_reduce(&f, c->reduction);
        TRY(f_per_sample(&f, c->p, c->np, &all, c->samples, scratch, cap));
        for (size_t i = 0; i < min_z(cap, c->samples); i++) {
            putf(w, scratch[i]);
        }
        return LC_OK;
    }
    case G_OP_STREAM: {
        facc_t a;
        plan_t plan;
        size_t start, len;
        uint64_t count;
        f_reduce(&f, c->reduction);
        TRY(fa_init(&f, &a));
        plan_init(&plan, c->chunks, c->n_chunks, c->np);
        while (plan_next(&plan, &start, &len)) {
            if (len == SIZE_MAX) {
                facc_t before = a;
                lc_targets none = f32_targets(c->t, 0);
                size_t one = start + 1 <= c->np ? 1 : 0;
                lc_status s = fa_push(&f, &a, c->p + start, one, &none);
                put(w, s != LC_OK && memcmp(&before, &a, sizeof a) == 0 ? G_REJECTED : 0);
                continue;
            }
            lc_targets t = f32_targets(c->t + (start + len <= c->nt ? start : 0),
                                       start + len <= c->nt ? len : 0);
            TRY(fa_push(&f, &a, c->p + start, len, &t));
            TRY(fa_count(&f, &a, &count));
            if (count > 0) {
                float v;
                TRY(fa_finish(&f, &a, &v));
                putf(w, v);
            }
        }
        TRY(fa_count(&f, &a, &count));
        put(w, (uint32_t)count);
        return LC_OK;
    }
    default:
        return LC_INVALID_PARAMETER;
    }
}

/* ---- the states, in one static arena (one case runs at a time) ------------------------------ */

typedef union {
    lc_code_counts_i8 i;
    lc_code_counts_u8 u;
} counts_t;

typedef union {
    lc_class_loss_accumulator l;
    lc_class_stats_accumulator s;
    lc_confusion_accumulator k;
} macc_t;

static union {
    counts_t k;
    macc_t m;
    lc_class_loss_accumulator loss;
    lc_class_stats_accumulator stats;
    struct {
        lc_confusion_accumulator a;
        lc_confusion_counts k[LC_MAX_CLASSES];
    } confusion;
    lc_monitor monitor;
} arena;

void *g_arena(size_t size) { return size <= sizeof arena ? (void *)&arena : NULL; }

/* FNV-1a of a state's bytes: a rejected push must leave it unchanged, and comparing hashes
 * needs no second copy of a 2 KiB state. */
static uint32_t fnv(const void *p, size_t n) {
    const uint8_t *b = (const uint8_t *)p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 16777619u;
    }
    return h;
}

/* ---- dice family ----------------------------------------------------------------------------- */

static lc_status stats6(const lc_overlap_config *cfg, const lc_overlap_stats *s, words_t *w) {
    float score, loss;
    TRY(lc_overlap_score(cfg, s, &score));
    TRY(lc_overlap_loss_from(cfg, s, &loss));
    putf(w, s->intersection);
    putf(w, s->prediction_sum);
    putf(w, s->target_sum);
    put(w, (uint32_t)s->count);
    putf(w, score);
    putf(w, loss);
    return LC_OK;
}

static lc_status run_overlap(const lc_overlap_config *cfg, const gcase *c, words_t *w) {
    lc_targets all = f32_targets(c->t, c->nt);
    lc_overlap_stats s;
    switch (c->op) {
    case G_OP_LOSS: {
        float v;
        TRY(lc_overlap_loss(cfg, c->p, c->np, &all, &v));
        putf(w, v);
        return LC_OK;
    }
    case G_OP_STATS:
        TRY(lc_overlap_stats_of(cfg, c->p, c->np, &all, &s));
        return stats6(cfg, &s, w);
    case G_OP_PER_SAMPLE: {
        size_t cap = cap_of(c->capacity);
        float v;
        TRY(lc_overlap_per_sample(cfg, c->p, c->np, &all, c->samples, scratch, cap));
        size_t k = c->samples <= cap ? c->samples : 0;
        for (size_t i = 0; i < k; i++) {
            putf(w, scratch[i]);
        }
        TRY(lc_reduce(c->reduction, scratch, k, &v));
        putf(w, v);
        return LC_OK;
    }
    case G_OP_STREAM: {
        lc_overlap_accumulator a;
        plan_t plan;
        size_t start, len;
        uint64_t count;
        TRY(lc_overlap_accumulator_init(&a, cfg));
        plan_init(&plan, c->chunks, c->n_chunks, c->np);
        while (plan_next(&plan, &start, &len)) {
            if (len == SIZE_MAX) {
                lc_overlap_accumulator before = a;
                lc_targets none = f32_targets(c->t, 0);
                size_t one = start + 1 <= c->np ? 1 : 0;
                lc_status st = lc_overlap_accumulator_push(&a, c->p + start, one, &none);
                put(w, st != LC_OK && memcmp(&before, &a, sizeof a) == 0 ? G_REJECTED : 0);
                continue;
            }
            lc_targets t = f32_targets(c->t + (start + len <= c->nt ? start : 0),
                                       start + len <= c->nt ? len : 0);
            TRY(lc_overlap_accumulator_push(&a, c->p + start, len, &t));
            TRY(lc_overlap_accumulator_count(&a, &count));
            if (count > 0) {
                float v;
                TRY(lc_overlap_accumulator_finish(&a, &v));
                putf(w, v);
            }
        }
        TRY(lc_overlap_accumulator_stats(&a, &s));
        return stats6(cfg, &s, w);
    }
    default:
        return LC_INVALID_PARAMETER;
    }
}

/* ---- multi-class ----------------------------------------------------------------------------- */

static size_t sat_add(size_t a, size_t b) { return a + b < a ? SIZE_MAX : a + b; }
static size_t sat_mul(size_t a, size_t b) { return b != 0 && a > SIZE_MAX / b ? SIZE_MAX : a * b; }

/* `MultiData::targets(start, len)`: the targets of pixels `start..start + len`. */
static lc_class_targets mtargets(const gcase *c, size_t start, size_t len) {
    const gspec *s = c->spec;
    lc_class_targets t;
    t.kind = s->label_kind;
    t.use_ignore_index = s->use_ignore;
    t.ignore_index = s->ignore;
    if (s->label_kind == LC_CLASS_TARGETS_DENSE) {
        size_t classes = s->shape.classes;
        size_t b = sat_mul(start, classes);
        size_t e = min_z(sat_mul(sat_add(start, len), classes), c->nt);
        t.data = c->t + (b <= e ? b : 0);
        t.len = b <= e ? e - b : 0;
        return t;
    }
    size_t count = min_z(c->nt, 128);
    size_t end = min_z(sat_add(start, len), count);
    size_t st = min_z(start, end);
    size_t size = s->label_kind == LC_CLASS_TARGETS_U8 ? 1 : s->label_kind == LC_CLASS_TARGETS_U16 ? 2 : 4;
    t.data = (const uint8_t *)c->labels + st * size;
    t.len = end - st;
    return t;
}

/* Scores (or codes) of pixels `start..start + len`, `get(..)` semantics. */
static size_t sub(size_t start, size_t len, size_t classes, size_t n, size_t *at) {
    size_t b = start * classes, e = (start + len) * classes;
    if (e > n || b > e) {
        *at = 0;
        return 0;
    }
    *at = b;
    return e - b;
}

static void stats_words(words_t *w, const lc_overlap_stats *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        putf(w, s[i].intersection);
        putf(w, s[i].prediction_sum);
        putf(w, s[i].target_sum);
        put(w, (uint32_t)s[i].count);
    }
}

static lc_status reduced_words(words_t *w, const gspec *sp, const lc_overlap_stats *s, size_t n,
                               size_t classes) {
    float *const losses = scratch; /* free whenever this runs */
    float v;
    size_t k;
    TRY(lc_class_reduce(&sp->reduction, &sp->overlap, s, n, classes, &v));
    putf(w, v);
    TRY(lc_class_losses(&sp->reduction, &sp->overlap, s, n, classes, losses, G_MAX_SCRATCH, &k));
    for (size_t i = 0; i < k; i++) {
        putf(w, losses[i]);
    }
    return LC_OK;
}

#define NEG_INF_BITS 0xff800000u

static lc_status confusion_words(words_t *w, const lc_confusion_counts *k, size_t n) {
    static const lc_metric metrics[5] = {LC_METRIC_DICE, LC_METRIC_IOU, LC_METRIC_PRECISION,
                                         LC_METRIC_RECALL, LC_METRIC_SPECIFICITY};
    float v;
    bool defined;
    for (size_t i = 0; i < n; i++) {
        put(w, (uint32_t)k[i].true_positives);
        put(w, (uint32_t)k[i].false_positives);
        put(w, (uint32_t)k[i].false_negatives);
        put(w, (uint32_t)k[i].true_negatives);
        put(w, (uint32_t)(k[i].true_positives + k[i].false_negatives));
        for (size_t m = 0; m < 5; m++) {
            TRY(lc_confusion_metric(&k[i], metrics[m], &v, &defined));
            if (defined) {
                putf(w, v);
            } else {
                put(w, NEG_INF_BITS);
            }
        }
    }
    for (size_t m = 0; m < 5; m++) {
        for (int pass = 0; pass < 2; pass++) {
            bool include = pass == 0, use_value = pass == 1;
            TRY(lc_macro_average(k, n, metrics[m], include, use_value, 0.0f, &v, &defined));
            if (defined) {
                putf(w, v);
            } else {
                put(w, NEG_INF_BITS);
            }
        }
    }
    return LC_OK;
}

static lc_status run_multi(const gcase *c, words_t *w) {
    const gspec *sp = c->spec;
    const lc_shape *shape = &sp->shape;
    size_t cl = shape->classes, elements;
    static lc_overlap_stats stats[2 * G_MULTI_CAP];
    lc_class_targets all = mtargets(c, 0, SIZE_MAX);
    plan_t plan;
    size_t start, len, at, n;
    TRY(lc_shape_elements(shape, &elements));
    switch (sp->multi) {
    case G_M_FOCAL:
        if (c->op == G_OP_LOSS) {
            size_t k = shape->batch * cl;
            size_t cap = k <= G_MAX_SCRATCH ? k : 0;
            TRY(lc_class_loss_sums(&sp->class_loss, shape, c->p, c->np, &all, scratch, cap));
            for (size_t i = 0; i < cap; i++) {
                putf(w, scratch[i]);
            }
            return LC_OK;
        }
        if (c->op == G_OP_ELEMENTWISE) {
            size_t cap = cap_of(c->capacity);
            TRY(lc_class_loss_elementwise(&sp->class_loss, shape, c->p, c->np, &all, scratch, cap));
            for (size_t i = 0; i < min_z(cap, elements); i++) {
                putf(w, scratch[i]);
            }
            return LC_OK;
        }
        if (c->op == G_OP_STREAM) {
            lc_class_loss_accumulator *const a = &arena.loss;
            uint64_t pixels;
            float v;
            TRY(lc_class_loss_accumulator_init(a, &sp->class_loss, cl));
            plan_init(&plan, c->chunks, c->n_chunks, shape->batch * shape->spatial);
            while (plan_next(&plan, &start, &len)) {
                if (len == SIZE_MAX) {
                    continue;
                }
                n = sub(start, len, cl, c->np, &at);
                lc_class_targets t = mtargets(c, start, len);
                TRY(lc_class_loss_accumulator_push(a, shape->layout, c->p + at, n, &t));
                TRY(lc_class_loss_accumulator_pixels(a, &pixels));
                if (pixels > 0) {
                    TRY(lc_class_loss_accumulator_mean_per_element(a, &v));
                    putf(w, v);
                }
            }
            TRY(lc_class_loss_accumulator_total(a, &v));
            putf(w, v);
            TRY(lc_class_loss_accumulator_mean_per_pixel(a, &v));
            putf(w, v);
            TRY(lc_class_loss_accumulator_pixels(a, &pixels));
            put(w, (uint32_t)pixels);
            TRY(lc_class_loss_accumulator_class_sums(a, scratch, cl));
            for (size_t i = 0; i < cl; i++) {
                putf(w, scratch[i]);
            }
            return LC_OK;
        }
        return LC_INVALID_PARAMETER;
    case G_M_OVERLAP: {
        float v;
        /* The loss is built before the statistics (`overlap_loss(base)?`). */
        lc_overlap_stats probe = {0.0f, 0.0f, 0.0f, 0};
        TRY(lc_overlap_score(&sp->overlap, &probe, &v));
        if (c->op == G_OP_LOSS) {
            TRY(lc_pooled_class_stats(&sp->class_overlap, shape, c->p, c->np, &all, stats, 2 * G_MULTI_CAP));
            stats_words(w, stats, cl);
            return reduced_words(w, sp, stats, cl, cl);
        }
        if (c->op == G_OP_STATS) {
            TRY(lc_class_stats(&sp->class_overlap, shape, c->p, c->np, &all, stats, 2 * G_MULTI_CAP));
            stats_words(w, stats, shape->batch * cl);
            return reduced_words(w, sp, stats, shape->batch * cl, cl);
        }
        if (c->op == G_OP_STREAM) {
            lc_class_stats_accumulator *const a = &arena.stats;
            uint64_t pixels;
            TRY(lc_class_stats_accumulator_init(a, &sp->class_overlap, cl));
            plan_init(&plan, c->chunks, c->n_chunks, shape->batch * shape->spatial);
            while (plan_next(&plan, &start, &len)) {
                if (len == SIZE_MAX) {
                    continue;
                }
                n = sub(start, len, cl, c->np, &at);
                lc_class_targets t = mtargets(c, start, len);
                TRY(lc_class_stats_accumulator_push(a, shape->layout, c->p + at, n, &t));
                TRY(lc_class_stats_accumulator_pixels(a, &pixels));
                put(w, (uint32_t)pixels);
            }
            TRY(lc_class_stats_accumulator_stats(a, stats, 2 * G_MULTI_CAP));
            stats_words(w, stats, cl);
            return reduced_words(w, sp, stats, cl, cl);
        }
        return LC_INVALID_PARAMETER;
    }
    case G_M_GDICE: {
        float v;
        TRY(lc_pooled_class_stats(&sp->class_overlap, shape, c->p, c->np, &all, stats, 2 * G_MULTI_CAP));
        TRY(lc_generalized_dice_loss(&sp->gdice, stats, cl, &v));
        putf(w, v);
        return LC_OK;
    }
    case G_M_CONFUSION: {
        static const uint16_t whole[1] = {0xfffeu};
        lc_confusion_accumulator *const a = &arena.confusion.a;
        lc_confusion_counts *const k = arena.confusion.k;
        size_t classes;
        TRY(lc_confusion_accumulator_init(a, &sp->decision, cl));
        if (c->op == G_OP_STREAM) {
            plan_init(&plan, c->chunks, c->n_chunks, shape->batch * shape->spatial);
        } else {
            plan_init(&plan, whole, 1, shape->batch * shape->spatial);
        }
        while (plan_next(&plan, &start, &len)) {
            if (len == SIZE_MAX) {
                continue;
            }
            n = sub(start, len, cl, c->np, &at);
            lc_class_targets t = mtargets(c, start, len);
            TRY(lc_confusion_accumulator_push(a, shape->layout, c->p + at, n, &t));
        }
        TRY(lc_confusion_accumulator_counts(a, k, LC_MAX_CLASSES, &classes));
        return confusion_words(w, k, classes);
    }
    default:
        return LC_INVALID_PARAMETER;
    }
}

/* ---- quantized binary ------------------------------------------------------------------------ */

static lc_targets qmask(const gcase *c, size_t n, size_t start, size_t len) {
    size_t end = min_z(sat_add(start, len), n);
    size_t st = min_z(start, end);
    lc_targets t;
    if (c->spec->mask_bits) {
        t.kind = LC_TARGETS_BITS;
        t.data = c->mask_bits + st / 8;
    } else {
        t.kind = LC_TARGETS_BYTES;
        t.data = c->mask_bytes + st;
    }
    t.len = end - st;
    return t;
}

static lc_status q_init(bool u, counts_t *k) {
    return u ? lc_code_counts_u8_init(&k->u) : lc_code_counts_i8_init(&k->i);
}

static lc_status q_push(const gcase *c, counts_t *k, size_t start, size_t len, const lc_targets *m) {
    return c->spec->u8_codes ? lc_code_counts_u8_push(&k->u, c->u8s + start, len, m)
                             : lc_code_counts_i8_push(&k->i, c->i8s + start, len, m);
}

static lc_status q_count(bool u, const counts_t *k, uint64_t *o) {
    return u ? lc_code_counts_u8_count(&k->u, o) : lc_code_counts_i8_count(&k->i, o);
}

/* What a quantized case reports on a frame's counts. */
static lc_status q_report(const gcase *c, const lc_sigmoid_focal_config *sf,
                          const lc_binary_focal_config *bf, const counts_t *k, words_t *w) {
    const gspec *s = c->spec;
    bool u = s->u8_codes;
    float v;
    lc_overlap_stats st;
    lc_confusion_counts cc;
    switch (s->qloss) {
    case G_Q_SIGMOID:
        TRY(u ? lc_quantized_sigmoid_focal_loss_u8(sf, s->q, &k->u, &v)
              : lc_quantized_sigmoid_focal_loss_i8(sf, s->q, &k->i, &v));
        putf(w, v);
        return LC_OK;
    case G_Q_BINARY:
        TRY(u ? lc_quantized_binary_focal_loss_u8(bf, s->q, &k->u, &v)
              : lc_quantized_binary_focal_loss_i8(bf, s->q, &k->i, &v));
        putf(w, v);
        return LC_OK;
    case G_Q_OVERLAP:
        TRY(u ? lc_quantized_overlap_stats_u8(&s->overlap, s->q, &k->u, &st)
              : lc_quantized_overlap_stats_i8(&s->overlap, s->q, &k->i, &st));
        putf(w, st.intersection);
        putf(w, st.prediction_sum);
        putf(w, st.target_sum);
        put(w, (uint32_t)st.count);
        TRY(u ? lc_quantized_overlap_loss_u8(&s->overlap, s->q, &k->u, &v)
              : lc_quantized_overlap_loss_i8(&s->overlap, s->q, &k->i, &v));
        putf(w, v);
        return LC_OK;
    default:
        TRY(u ? lc_code_counts_u8_confusion(&k->u, s->q, s->threshold, &cc)
              : lc_code_counts_i8_confusion(&k->i, s->q, s->threshold, &cc));
        put(w, (uint32_t)cc.true_positives);
        put(w, (uint32_t)cc.false_positives);
        put(w, (uint32_t)cc.false_negatives);
        put(w, (uint32_t)cc.true_negatives);
        return LC_OK;
    }
}

static lc_status run_quant(const gcase *c, words_t *w) {
    const gspec *s = c->spec;
    bool u = s->u8_codes;
    size_t n = min_z(min_z(c->np, c->nt), 256);
    lc_sigmoid_focal_config sf = s->sigmoid;
    lc_binary_focal_config bf = s->binary;
    uint32_t r = (c->op == G_OP_LOSS || c->op == G_OP_STREAM) ? c->reduction : LC_REDUCTION_MEAN;
    counts_t *const k = &arena.k;
    float v;
    sf.reduction = r;
    bf.reduction = r;
    TRY(lc_quantization_check(s->q));
    /* The focal and dice losses are built before the codes are counted: check them on empty
     * counts, where a valid loss reports only the empty input. */
    if (s->qloss != G_Q_CONFUSION) {
        lc_status st;
        TRY(q_init(u, k));
        if (s->qloss == G_Q_SIGMOID) {
            st = u ? lc_quantized_sigmoid_focal_loss_u8(&sf, s->q, &k->u, &v)
                   : lc_quantized_sigmoid_focal_loss_i8(&sf, s->q, &k->i, &v);
        } else if (s->qloss == G_Q_BINARY) {
            st = u ? lc_quantized_binary_focal_loss_u8(&bf, s->q, &k->u, &v)
                   : lc_quantized_binary_focal_loss_i8(&bf, s->q, &k->i, &v);
        } else {
            st = u ? lc_quantized_overlap_loss_u8(&s->overlap, s->q, &k->u, &v)
                   : lc_quantized_overlap_loss_i8(&s->overlap, s->q, &k->i, &v);
        }
        if (st != LC_EMPTY_INPUT) {
            return st;
        }
    }
    if (c->op == G_OP_ELEMENTWISE && (s->qloss == G_Q_SIGMOID || s->qloss == G_Q_BINARY)) {
        size_t cap = cap_of(c->capacity);
        lc_targets m = qmask(c, n, 0, n);
        if (s->qloss == G_Q_SIGMOID) {
            TRY(u ? lc_quantized_sigmoid_focal_elementwise_u8(&sf, s->q, c->u8s, n, &m, scratch, cap)
                  : lc_quantized_sigmoid_focal_elementwise_i8(&sf, s->q, c->i8s, n, &m, scratch, cap));
        } else {
            TRY(u ? lc_quantized_binary_focal_elementwise_u8(&bf, s->q, c->u8s, n, &m, scratch, cap)
                  : lc_quantized_binary_focal_elementwise_i8(&bf, s->q, c->i8s, n, &m, scratch, cap));
        }
        for (size_t i = 0; i < min_z(cap, n); i++) {
            putf(w, scratch[i]);
        }
        return LC_OK;
    }
    TRY(q_init(u, k));
    if (c->op == G_OP_LOSS) {
        lc_targets m = qmask(c, n, 0, n);
        TRY(q_push(c, k, 0, n, &m));
        return q_report(c, &sf, &bf, k, w);
    }
    if (c->op == G_OP_STREAM) {
        plan_t plan;
        size_t start, len;
        uint64_t count;
        plan_init(&plan, c->chunks, c->n_chunks, n);
        while (plan_next(&plan, &start, &len)) {
            if (len == SIZE_MAX) {
                uint32_t before = fnv(k, sizeof *k);
                lc_targets m = qmask(c, n, start, 0);
                size_t one = start + 1 <= n ? 1 : 0;
                lc_status st = q_push(c, k, start, one, &m);
                put(w, st != LC_OK && fnv(k, sizeof *k) == before ? G_REJECTED : 0);
                continue;
            }
            lc_targets m = qmask(c, n, start, len);
            TRY(q_push(c, k, start, len, &m));
            TRY(q_count(u, k, &count));
            if (count > 0) {
                TRY(q_report(c, &sf, &bf, k, w));
            }
        }
        TRY(q_count(u, k, &count));
        put(w, (uint32_t)count);
        return LC_OK;
    }
    return LC_INVALID_PARAMETER;
}

/* ---- quantized multi-class ------------------------------------------------------------------- */

static lc_status m_push(const gcase *c, macc_t *a, size_t at, size_t n, const lc_class_targets *t) {
    const gspec *s = c->spec;
    uint32_t layout = s->shape.layout;
    const lc_class_quantization *q = &s->cq;
    switch (s->multi) {
    case G_M_FOCAL:
        return s->u8_codes ? lc_class_loss_accumulator_push_codes_u8(&a->l, layout, c->u8s + at, n, q, t)
                           : lc_class_loss_accumulator_push_codes_i8(&a->l, layout, c->i8s + at, n, q, t);
    case G_M_OVERLAP:
        return s->u8_codes ? lc_class_stats_accumulator_push_codes_u8(&a->s, layout, c->u8s + at, n, q, t)
                           : lc_class_stats_accumulator_push_codes_i8(&a->s, layout, c->i8s + at, n, q, t);
    default:
        return s->u8_codes ? lc_confusion_accumulator_push_codes_u8(&a->k, layout, c->u8s + at, n, q, t)
                           : lc_confusion_accumulator_push_codes_i8(&a->k, layout, c->i8s + at, n, q, t);
    }
}

static lc_status run_codes(const gcase *c, words_t *w) {
    const gspec *s = c->spec;
    const lc_shape *shape = &s->shape;
    size_t cl = shape->classes, spatial = shape->spatial, elements;
    size_t ncodes = min_z(c->np, 256);
    macc_t *const a = &arena.m;
    float v;
    uint64_t pixels;
    static lc_overlap_stats stats[G_MULTI_CAP];
    TRY(lc_shape_elements(shape, &elements));
    if (s->cq.per_class) {
        if (s->cq.len > G_MULTI_CAP) {
            return LC_INVALID_PARAMETER;
        }
        for (size_t i = 0; i < s->cq.len; i++) {
            TRY(lc_quantization_check(s->cq.list[i]));
        }
    } else {
        TRY(lc_quantization_check(s->cq.tensor));
    }
    memset(a, 0, sizeof *a);
    switch (s->multi) {
    case G_M_FOCAL:
        TRY(lc_class_loss_accumulator_init(&a->l, &s->class_loss, cl));
        break;
    case G_M_OVERLAP: {
        lc_overlap_stats probe = {0.0f, 0.0f, 0.0f, 0};
        TRY(lc_class_stats_accumulator_init(&a->s, &s->class_overlap, cl));
        TRY(lc_overlap_score(&s->overlap, &probe, &v));
        break;
    }
    case G_M_CONFUSION:
        TRY(lc_confusion_accumulator_init(&a->k, &s->decision, cl));
        break;
    default:
        return LC_INVALID_PARAMETER;
    }
    if (c->op == G_OP_LOSS) {
        for (size_t b = 0; b < shape->batch; b++) {
            size_t at, n = sub(b, 1, cl * spatial, ncodes, &at);
            lc_class_targets t = mtargets(c, b * spatial, spatial);
            TRY(m_push(c, a, at, n, &t));
        }
    } else if (c->op == G_OP_STREAM && shape->layout == LC_LAYOUT_CHANNELS_LAST) {
        plan_t plan;
        size_t start, len;
        plan_init(&plan, c->chunks, c->n_chunks, shape->batch * spatial);
        while (plan_next(&plan, &start, &len)) {
            if (len == SIZE_MAX) {
                uint32_t before = fnv(a, sizeof *a);
                size_t at = start * cl;
                size_t one = at + 1 <= ncodes ? 1 : 0;
                lc_class_targets t = mtargets(c, start, 1);
                lc_status st = m_push(c, a, one ? at : 0, one, &t);
                put(w, st != LC_OK && fnv(a, sizeof *a) == before ? G_REJECTED : 0);
                continue;
            }
            size_t at, n = sub(start, len, cl, ncodes, &at);
            lc_class_targets t = mtargets(c, start, len);
            TRY(m_push(c, a, at, n, &t));
            if (s->multi == G_M_FOCAL) {
                TRY(lc_class_loss_accumulator_pixels(&a->l, &pixels));
                if (pixels > 0) {
                    TRY(lc_class_loss_accumulator_mean_per_element(&a->l, &v));
                    putf(w, v);
                }
            } else if (s->multi == G_M_OVERLAP) {
                TRY(lc_class_stats_accumulator_pixels(&a->s, &pixels));
                put(w, (uint32_t)pixels);
            }
        }
    } else {
        return LC_INVALID_PARAMETER;
    }
    if (s->multi == G_M_FOCAL) {
        TRY(lc_class_loss_accumulator_total(&a->l, &v));
        putf(w, v);
        TRY(lc_class_loss_accumulator_mean_per_pixel(&a->l, &v));
        putf(w, v);
        TRY(lc_class_loss_accumulator_pixels(&a->l, &pixels));
        put(w, (uint32_t)pixels);
        TRY(lc_class_loss_accumulator_class_sums(&a->l, scratch, cl));
        for (size_t i = 0; i < cl; i++) {
            putf(w, scratch[i]);
        }
        return LC_OK;
    }
    if (s->multi == G_M_OVERLAP) {
        TRY(lc_class_stats_accumulator_stats(&a->s, stats, G_MULTI_CAP));
        stats_words(w, stats, cl);
        return reduced_words(w, s, stats, cl, cl);
    }
    {
        lc_confusion_counts k[LC_MAX_CLASSES];
        size_t classes;
        TRY(lc_confusion_accumulator_counts(&a->k, k, LC_MAX_CLASSES, &classes));
        return confusion_words(w, k, classes);
    }
}

/* ---- dispatch -------------------------------------------------------------------------------- */

lc_status g_evaluate(const gcase *c, uint32_t *words, size_t *n) {
    words_t w = {words, 0};
    lc_status s = LC_OK;
    const gspec *sp = c->spec;
    switch (sp->kind) {
    case G_SIGMOID_FOCAL: {
        focal_t f = {false, sp->sigmoid, sp->binary};
        s = run_element(f, c, &w);
        break;
    }
    case G_BINARY_FOCAL: {
        focal_t f = {true, sp->sigmoid, sp->binary};
        s = run_element(f, c, &w);
        break;
    }
    case G_OVERLAP:
        s = run_overlap(&sp->overlap, c, &w);
        break;
    case G_SIGMOID:
        for (size_t i = 0; i < c->np && s == LC_OK; i++) {
            float v;
            s = lc_sigmoid(c->p[i], &v);
            putf(&w, v);
        }
        break;
    case G_MULTI:
        s = run_multi(c, &w);
        break;
    case G_QUANT:
        s = run_quant(c, &w);
        break;
    case G_MULTI_CODES:
        s = run_codes(c, &w);
        break;
    case G_REDUCE: {
        float v;
        s = c->op == G_OP_LOSS ? lc_reduce(c->reduction, c->p, c->np, &v) : LC_INVALID_PARAMETER;
        if (s == LC_OK) {
            putf(&w, v);
        }
        break;
    }
    case G_FIRST_NON_FINITE: {
        bool found;
        size_t index;
        s = lc_first_non_finite(c->p, c->np, &found, &index);
        if (s == LC_OK) {
            put(&w, found ? (uint32_t)index : 0xffffffffu);
        }
        break;
    }
    default:
        s = LC_INVALID_PARAMETER;
    }
    *n = w.len;
    return s;
}

static bool is_nan_bits(uint32_t u) { return (u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu) != 0; }

bool g_check(const gcase *c) {
    static uint32_t words[G_MAX_WORDS];
    size_t n = 0;
    lc_status s = g_evaluate(c, words, &n);
    if (c->status != LC_OK) {
        return s == c->status;
    }
    if (s != LC_OK || n != c->n_words || n > G_MAX_WORDS) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t a = words[i], b = c->words[i];
        if (a != b && !(is_nan_bits(a) && is_nan_bits(b))) {
            return false;
        }
    }
    return true;
}
