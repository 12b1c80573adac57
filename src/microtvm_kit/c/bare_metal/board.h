/* The board layer every firmware main loop uses: UART bytes in and out, sleep, a free-running timer.
 * One implementation per CPU family (arm/, riscv/); the UART driver is chosen per board. */
#ifndef PROJECTAPI_QEMU_BOARD_H_
#define PROJECTAPI_QEMU_BOARD_H_

#include <stddef.h>
#include <stdint.h>

/* C start-up of every CPU family, called by its reset code (stack set, FPU on): copies .data,
 * clears .bss, points picolibc at the thread-local data, runs board_init, then main. */
void board_start(void);

/* Set up the UART (receive interrupt on), the timer and interrupts. Call once, first. */
void board_init(void);

/* Send len bytes; returns when all are handed to the UART. */
void board_uart_write(const uint8_t* data, size_t len);

/* Move up to cap received bytes into buf without blocking; returns how many. */
size_t board_uart_read(uint8_t* buf, size_t cap);

/* Sleep (wfi) until an interrupt arrives, unless received bytes are already waiting. */
void board_wait_for_rx(void);

/* Timer ticks since board_init, at BOARD_TIMER_HZ; never wraps in practice (64 bits). */
uint64_t board_timer_ticks(void);

/* ---- used by the drivers only ---- */

/* The UART interrupt calls board_rx_pause_if_full() before each received byte and, while it
 * returns 0, board_rx_push() with the byte. When the buffer is full it returns 1 and has masked
 * the receive interrupt: the byte stays in the UART, which holds off the sender, and
 * board_uart_read unmasks the interrupt once there is room again. Nothing is ever dropped. */
void board_rx_push(uint8_t byte);
int board_rx_pause_if_full(void);

/* Whether received bytes are waiting. */
int board_rx_pending(void);

/* Clock set-up (boards whose data sets BOARD_CLOCK_SETUP), before the timer and the UART. */
void board_clock_init(void);

/* Timer driver entry points (Cortex-M boards), implemented by timer_<driver>.c; the interrupt
 * handler sits at vector BOARD_TIMER_VECTOR. */
void board_timer_init(void);
void board_timer_isr(void);

/* UART driver entry points, implemented by uart_<driver>.c (on Cortex-M, the receive interrupt
 * gate board_uart_rx_irq_enable is the NVIC's, in arm/startup_cortex_m.c). */
void board_uart_init(void);
void board_uart_putc(uint8_t byte);
void board_uart_isr(void);
void board_uart_rx_irq_enable(int enable);

#endif /* PROJECTAPI_QEMU_BOARD_H_ */
