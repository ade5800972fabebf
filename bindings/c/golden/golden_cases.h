/* The golden cases as C data (golden_cases.c, generated from golden/src/vectors.rs) and their
 * evaluator through the C API (golden_eval.c), shared by the host test and the firmware. */
#ifndef GOLDEN_CASES_H
#define GOLDEN_CASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loss_core.h"

/* What a case computes. */
enum {
    G_SIGMOID_FOCAL,
    G_BINARY_FOCAL,
    G_OVERLAP,
    G_SIGMOID,
    G_MULTI,
    G_QUANT,
    G_MULTI_CODES,
    G_REDUCE,
    G_FIRST_NON_FINITE
};
/* How it drives it. */
enum { G_OP_LOSS, G_OP_ELEMENTWISE, G_OP_PER_SAMPLE, G_OP_STREAM, G_OP_STATS };
/* The multi-class computations. */
enum { G_M_FOCAL, G_M_OVERLAP, G_M_GDICE, G_M_CONFUSION };
/* The quantized binary computations. */
enum { G_Q_SIGMOID, G_Q_BINARY, G_Q_OVERLAP, G_Q_CONFUSION };

/* A chunk "length" that pushes mismatched data, which must be rejected unchanged. */
#define G_BAD_CHUNK 0xffffu
/* The word recorded for such a rejected push. */
#define G_REJECTED 0x0badc0deu
/* Most output words of a case, and the scratch buffer of the evaluator. */
#define G_MAX_WORDS 192
#define G_MAX_SCRATCH 200
/* The golden evaluator's class capacity (statistics buffers are 2 x this). */
#define G_MULTI_CAP 8

typedef struct {
    uint8_t kind;
    lc_sigmoid_focal_config sigmoid;
    lc_binary_focal_config binary;
    lc_overlap_config overlap;
    /* multi-class */
    uint8_t multi;
    lc_shape shape;
    uint32_t label_kind;
    bool use_ignore;
    int32_t ignore;
    lc_class_loss_config class_loss;
    lc_class_overlap class_overlap;
    lc_class_reduction reduction;
    lc_generalized_dice_config gdice;
    lc_decision decision;
    /* quantized */
    uint8_t qloss;
    lc_quantization q;
    float threshold;
    bool u8_codes;
    bool mask_bits;
    lc_class_quantization cq;
} gspec;

typedef struct {
    const gspec *spec;
    uint8_t op;
    uint32_t reduction;
    uint32_t capacity;
    uint32_t samples;
    const uint16_t *chunks;
    uint32_t n_chunks;
    const float *p;
    uint32_t np;
    const float *t;
    uint32_t nt;
    /* label maps of multi-class cases (their kind's type), NULL for dense targets */
    const void *labels;
    /* codes of quantized cases */
    const int8_t *i8s;
    const uint8_t *u8s;
    /* masks of binary quantized cases: bytes (0/1, or a bad byte) and packed bits */
    const uint8_t *mask_bytes;
    const uint8_t *mask_bits;
    /* expected: LC_OK and the words, or the status */
    int32_t status;
    const uint32_t *words;
    uint32_t n_words;
} gcase;

/* The cases in parts of at most G_PART_SIZE (generated), and all of them in order
 * (golden_all.c). */
#define G_PARTS 4
#define G_PART_SIZE 210
extern const gcase g_part0[], g_part1[], g_part2[], g_part3[];
extern const size_t g_part0_count, g_part1_count, g_part2_count, g_part3_count;
size_t g_case_count(void);
const gcase *g_case(size_t i);

/* The extra checks' data (golden_extra.c): a monitor scenario and frame signals, with the
 * values loss-core computes for them. Floats of results are bit patterns. */
typedef struct {
    uint32_t kind, frame, signal, from, to, cause, value, mean, std;
} gmon_event;

typedef struct {
    uint64_t pixels;
    size_t classes;
    uint32_t entropy, confidence;
    uint32_t area[LC_MAX_CLASSES];
    bool has_previous;
    uint32_t consistency, consistency_iou, agreement;
} glabel_free;

extern const float g_mon_conf[100];
extern const float g_mon_ent[100];
extern const bool g_mon_measured[100];
extern const gmon_event g_mon_events[];
extern const size_t g_mon_event_count;
extern const uint32_t g_mon_summary[2][9];
extern const uint32_t g_mon_level;
extern const uint32_t g_mon_frames;
extern const float g_fs_scores[128];
extern const uint8_t g_fs_previous[32];
extern const glabel_free g_fs_expected;
extern const uint8_t g_fs_mask_after[32];
extern const int8_t g_fs_codes[128];
extern const glabel_free g_fs_codes_expected;

/* Runs the extra checks; `fail` is called with a description of each failing one. Returns
 * the number that passed. */
int g_extra_checks(void (*fail)(const char *what));

/* The evaluator's static state arena for other checks (NULL if `size` does not fit). */
void *g_arena(size_t size);

/* Runs one case through the C API: the status of the first failing call, or LC_OK with the
 * output words in `words` (`*n` of them; more than G_MAX_WORDS are counted, not stored). */
lc_status g_evaluate(const gcase *c, uint32_t *words, size_t *n);

/* Whether the case's result matches its expectation (bits equal, any NaN matching any NaN). */
bool g_check(const gcase *c);

#endif
