/* RISC-V entry point: QEMU jumps here (start of the image) on hart 0. Sets the global and stack
 * pointers, then continues in C (reset_c in board_riscv.c). */
  .section .vectors, "ax"
  .globl _start
_start:
  .option push
  .option norelax
  la gp, __global_pointer$
  .option pop
  la sp, __stack_top
  call reset_c
1:
  wfi
  j 1b
