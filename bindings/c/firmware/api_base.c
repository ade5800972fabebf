/* The C firmware's skeleton without the C API (start-up, semihosting exit): what
 * `cargo xtask size` subtracts to give the library's share of `api_min.c`. */
#include "board.h"

volatile uint32_t checksum;

int main(void) {
    checksum = 0;
    return 0;
}
