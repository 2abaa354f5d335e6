/*
 * proc.c - CPU and memory of a process tree from /proc (proc(5)): stat fields 14-17 for
 * CPU, VmRSS from status, Pss from smaps_rollup. The tree is found by scanning every
 * /proc/PID/stat for its parent, since /proc/PID/task/TID/children may be compiled out.
 */
#include "proc.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct proc_entry {
    int pid;               /* process id */
    int ppid;              /* its parent */
    uint64_t ticks;        /* utime+stime+cutime+cstime */
    uint64_t reaped_ticks; /* cutime+cstime: children it has waited for */
};

/* Reads /proc/<pid>/stat into <e>. Returns 0, or -1 when it is gone or unreadable. */
static int proc_stat_read(int pid, struct proc_entry *e)
{
    char path[64], buf[1024];
    unsigned long long f[4];
    FILE *fp;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    /* comm (field 2) may hold spaces and parentheses: fields restart after the last ')' */
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    int ppid;
    /* field 3 state, 4 ppid, 5-13 skipped, 14 utime, 15 stime, 16 cutime, 17 cstime */
    if (sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &ppid,
               &f[0], &f[1], &f[2], &f[3]) != 5)
        return -1;
    e->pid = pid;
    e->ppid = ppid;
    e->ticks = f[0] + f[1] + f[2] + f[3];
    e->reaped_ticks = f[2] + f[3];
    return 0;
}

/* Returns the value in kB of the first line of <file> under /proc/<pid> starting with
 * <key>, or 0 when there is none. */
static uint64_t proc_kib_field(int pid, const char *file, const char *key)
{
    char path[64], line[256];
    size_t klen = strlen(key);
    uint64_t v = 0;
    FILE *fp;

    snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
    fp = fopen(path, "r");
    if (fp == NULL)
        return 0;
    while (fgets(line, sizeof(line), fp) != NULL) {
        if (strncmp(line, key, klen) == 0) {
            v = strtoull(line + klen, NULL, 10);
            break;
        }
    }
    fclose(fp);
    return v;
}

size_t proc_descendants(int pid, int *out, size_t cap)
{
    struct proc_entry *all = NULL;
    size_t n = 0, ncap = 0, found = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;

    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        int p = atoi(de->d_name);
        struct proc_entry e;
        if (p <= 0 || p == pid || proc_stat_read(p, &e) != 0)
            continue;
        if (n == ncap) {
            size_t grown = ncap ? ncap * 2 : 256;
            struct proc_entry *na = realloc(all, grown * sizeof(*na));
            if (na == NULL)
                break;
            all = na;
            ncap = grown;
        }
        all[n++] = e;
    }
    closedir(d);

    /* In the tree when the chain of parents reaches <pid>: index entries by pid. */
    int max_pid = pid;
    for (size_t i = 0; i < n; i++)
        max_pid = all[i].pid > max_pid ? all[i].pid : max_pid;
    int *index = calloc((size_t)max_pid + 1, sizeof(*index)); /* pid -> entry + 1 */
    for (size_t i = 0; i < n && index != NULL; i++)
        index[all[i].pid] = (int)i + 1;
    for (size_t i = 0; i < n && index != NULL && found < cap; i++) {
        int up = all[i].ppid;
        for (int depth = 0; depth < 64 && up > 1 && up <= max_pid; depth++) {
            if (up == pid) {
                out[found++] = all[i].pid;
                break;
            }
            if (index[up] == 0)
                break;
            up = all[index[up] - 1].ppid;
        }
    }
    free(index);
    free(all);
    return found;
}

int proc_usage_read(int pid, struct proc_usage *u, bool with_pss)
{
    static int kids[PROC_TREE_MAX];
    struct proc_entry root, again, e;
    size_t n = 0;

    memset(u, 0, sizeof(*u));
    /* A child reaped while the tree is read would be missed (its time moves into the
     * parent's cutime after the parent was read): read again until the parent reaped
     * nothing in between. */
    for (int tries = 0; tries < 20; tries++) {
        if (proc_stat_read(pid, &root) != 0)
            return -1;
        n = proc_descendants(pid, kids, PROC_TREE_MAX);
        u->cpu_ticks = 0;
        for (size_t i = 0; i < n; i++)
            if (proc_stat_read(kids[i], &e) == 0)
                u->cpu_ticks += e.ticks;
        if (proc_stat_read(pid, &again) != 0)
            return -1;
        if (again.reaped_ticks == root.reaped_ticks)
            break;
    }
    u->cpu_ticks += again.ticks;
    u->rss_kib = proc_kib_field(pid, "status", "VmRSS:");
    u->pss_kib = with_pss ? proc_kib_field(pid, "smaps_rollup", "Pss:") : 0;
    u->procs = 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t rss = proc_kib_field(kids[i], "status", "VmRSS:");
        if (rss == 0)
            continue; /* gone, or a zombie: no memory left */
        u->rss_kib += rss;
        if (with_pss)
            u->pss_kib += proc_kib_field(kids[i], "smaps_rollup", "Pss:");
        u->procs++;
    }
    return 0;
}
