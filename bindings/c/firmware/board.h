/* What the start-up code gives the firmware's main. */
#ifndef BOARD_H
#define BOARD_H

#include <stdint.h>

void fw_print(const char *s);
void fw_print_u32(uint32_t v);
void fw_exit(int code);
/* Bytes of stack used so far (the painted region that was overwritten). */
uint32_t fw_peak_stack(void);

#endif
