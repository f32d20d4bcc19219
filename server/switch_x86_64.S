/*
 * server/switch_x86_64.S - the user-level context switch (x86-64 System V).
 *
 *   void sched_switch(void **save_sp, void *next_sp);
 *
 * Saves the callee-saved state on the current stack (rbp, rbx, r12-r15 and
 * the MXCSR/x87 control words, which the ABI also makes callee-saved),
 * stores the stack pointer in *save_sp, and resumes the context whose
 * stack pointer is next_sp. Everything else is caller-saved, so the switch
 * is a function call to either side: a few nanoseconds, no system call
 * (glibc's swapcontext also saves and restores the signal mask).
 *
 * A new context's stack is prepared by sched_stack_init (sched.c) to look
 * as if it had been switched out just before sched_start: r12 holds the
 * argument and r13 the function, which must never return.
 */
#if defined(__x86_64__)
    .text
    .globl  sched_switch
    .type   sched_switch, @function
sched_switch:
    .cfi_startproc
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    subq    $8, %rsp
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
    movq    %rsp, (%rdi)
    movq    %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw   4(%rsp)
    addq    $8, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    ret
    .cfi_endproc
    .size   sched_switch, .-sched_switch

    .globl  sched_start
    .type   sched_start, @function
sched_start:
    .cfi_startproc
    .cfi_undefined rip          /* the outermost frame: backtraces stop here */
    xorl    %ebp, %ebp
    movq    %r12, %rdi
    callq   *%r13
    ud2
    .cfi_endproc
    .size   sched_start, .-sched_start
#else
#error "server/switch_x86_64.S: only x86-64 has a context switch so far"
#endif
    .section .note.GNU-stack, "", @progbits
