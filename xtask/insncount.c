/* QEMU 7.2 TCG plugin (plugin API v1): counts guest instructions between the first instruction
 * at start=ADDR and the one at stop=ADDR, printing "insncount: window N insns" each time.
 * Declares the few API prototypes itself (Debian ships no qemu-plugin.h). `cargo xtask cost` builds it:
 * gcc -shared -fPIC -O2 -o libinsncount.so insncount.c */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
typedef uint64_t qemu_plugin_id_t; typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb; struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t, struct qemu_plugin_tb *);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int, void *);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t, void *);
extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, qemu_plugin_vcpu_tb_trans_cb_t);
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
extern struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *, size_t);
extern uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *);
extern void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *, enum qemu_plugin_op, void *, uint64_t);
extern void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *, qemu_plugin_vcpu_udata_cb_t, enum qemu_plugin_cb_flags, void *);
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, qemu_plugin_udata_cb_t, void *);
extern void qemu_plugin_outs(const char *);
__attribute__((visibility("default"))) int qemu_plugin_version = 1;
static uint64_t count, start_addr = ~0ull, stop_addr = ~0ull, t0; static int armed;
static void on_start(unsigned int v, void *u) { t0 = count; armed = 1; }
static void on_stop(unsigned int v, void *u) { if (!armed) return; char b[96];
  snprintf(b, sizeof b, "insncount: window %llu insns\n", (unsigned long long)(count - t0)); qemu_plugin_outs(b); armed = 0; }
static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  size_t n = qemu_plugin_tb_n_insns(tb);
  for (size_t i = 0; i < n; i++) { struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    uint64_t pc = qemu_plugin_insn_vaddr(insn);
    if (pc == start_addr) qemu_plugin_register_vcpu_insn_exec_cb(insn, on_start, QEMU_PLUGIN_CB_NO_REGS, NULL);
    if (pc == stop_addr)  qemu_plugin_register_vcpu_insn_exec_cb(insn, on_stop,  QEMU_PLUGIN_CB_NO_REGS, NULL);
    qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &count, 1); } }
static void at_exit(qemu_plugin_id_t id, void *u) { char b[96];
  snprintf(b, sizeof b, "insncount: total %llu insns\n", (unsigned long long)count); qemu_plugin_outs(b); }
__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    if (!strncmp(argv[i], "start=", 6)) start_addr = strtoull(argv[i] + 6, NULL, 0) & ~1ull;
    if (!strncmp(argv[i], "stop=", 5))  stop_addr  = strtoull(argv[i] + 5, NULL, 0) & ~1ull; }
  qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans); qemu_plugin_register_atexit_cb(id, at_exit, NULL); return 0; }
