/*
 * proc.h - what /proc says about a relay and the processes it forked (websockify forks
 * one per connection): CPU ticks, RSS and PSS summed over the live process tree.
 */
#ifndef BENCH_PROC_H
#define BENCH_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct proc_usage {
    uint64_t cpu_ticks; /* utime+stime+cutime+cstime summed over the tree, clock ticks */
    uint64_t rss_kib;   /* VmRSS (/proc/PID/status) summed over the tree */
    uint64_t pss_kib;   /* Pss (/proc/PID/smaps_rollup) summed; 0 where unreadable */
    unsigned procs;     /* processes in the tree, <pid> included */
};

#define PROC_TREE_MAX 16384 /* descendants looked at, at most */

/* Writes into <out> (room for <cap>) the pids of the live descendants of <pid>, found
 * by scanning /proc. Returns how many were written. */
size_t proc_descendants(int pid, int *out, size_t cap);

/* Fills <u> for <pid> and its live descendants. Reaped children are counted through
 * their parent's cutime and cstime, so a difference of two readings is the CPU the tree
 * spent in between. <with_pss> also reads smaps_rollup (slower: it walks the page
 * tables). Returns 0, or -1 when <pid> is gone. */
int proc_usage_read(int pid, struct proc_usage *u, bool with_pss);

#endif
