/*
 * connlimits.c - the shared counts behind the connection limits and the descriptor budget,
 * under one mutex (the pure rules are conncount.c's), and the slot each connection
 * carries from its accept to the close of its socket.
 */
#include "connlimits.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

int connlimits_init(struct connlimits *l, size_t n_loops, const struct config *c, char *err,
                size_t err_len)
{
    uint8_t hash_key[SIPHASH_KEY_BYTES];

    memset(l, 0, sizeof(*l));
    l->n_loops = n_loops;
    /* The address table's secret: peers must not be able to predict where an address
     * lands. */
    if (getrandom(hash_key, sizeof(hash_key), 0) != (ssize_t)sizeof(hash_key)) {
        snprintf(err, err_len, "getrandom: %s", strerror(errno));
        return -1;
    }
    conncount_init(&l->counts, hash_key);
    if (pthread_mutex_init(&l->lock, NULL) != 0) {
        snprintf(err, err_len, "pthread_mutex_init: failed");
        return -1;
    }
    l->lock_made = true;
    l->conf = (struct conncount_limits){
        .max_connections = c->max_connections,
        .max_connections_per_ip = c->max_connections_per_ip,
        .max_pending_per_ip = c->max_pending_per_ip,
    };
    return 0;
}

/* Descriptors open now: the entries of /proc/self/fd but the one reading it; without
 * /proc, the lowest free descriptor (they are dense at start). */
static unsigned connlimits_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    unsigned n = 0;
    int fd;

    if (d != NULL) {
        while ((de = readdir(d)) != NULL)
            if (de->d_name[0] != '.')
                n++;
        closedir(d);
        return n > 0 ? n - 1 : 0;
    }
    fd = dup(0);
    if (fd < 0)
        return 3;
    close(fd);
    return (unsigned)fd;
}

/* Sets the descriptor budget from <c>'s fd_reserve: how many connections fit below
 * RLIMIT_NOFILE with two descriptors each and the reserve kept free. Under the lock, or
 * before any thread runs. */
static void connlimits_fd_budget(struct connlimits *l, const struct config *c)
{
    unsigned reserve = conncount_fd_reserve(l->fd_limit, l->fd_in_use, c->fd_reserve);
    unsigned budget = conncount_fd_budget(l->fd_limit, l->fd_in_use, reserve);

    if (budget == l->conf.max_by_fds && reserve == l->fd_reserve)
        return;
    l->fd_reserve = reserve;
    l->conf.max_by_fds = budget;
    if (budget == 0)
        log_msg(LOG_LEVEL_INFO, "descriptors: limit %llu, %u in use, no reserve kept",
                (unsigned long long)l->fd_limit, l->fd_in_use);
    else
        log_msg(budget < 16 ? LOG_LEVEL_WARN : LOG_LEVEL_INFO,
                "descriptors: limit %llu, %u in use, %u kept in reserve: room for %u "
                "connections", (unsigned long long)l->fd_limit, l->fd_in_use, reserve, budget);
}

void connlimits_measure_fds(struct connlimits *l, const struct config *c)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        l->fd_limit = rl.rlim_cur;
    l->fd_in_use = connlimits_open_fds();
    connlimits_fd_budget(l, c);
}

void connlimits_configure(struct connlimits *l, const struct config *c)
{
    pthread_mutex_lock(&l->lock);
    l->conf.max_connections = c->max_connections;
    l->conf.max_connections_per_ip = c->max_connections_per_ip;
    l->conf.max_pending_per_ip = c->max_pending_per_ip;
    connlimits_fd_budget(l, c);
    pthread_mutex_unlock(&l->lock);
}

/* How early the descriptor budget counts as full: every other loop may still accept
 * one connection before it sees that (and all may start again at once), so a paused
 * budget is not overrun. Under the lock. */
static unsigned connlimits_fd_margin(const struct connlimits *l)
{
    unsigned others = (unsigned)l->n_loops - 1;

    return l->conf.max_by_fds > others ? others : l->conf.max_by_fds - 1;
}

/* True if the budget has no room for one more accept on every loop. Under the lock. */
static bool connlimits_budget_is_full(const struct connlimits *l)
{
    return l->conf.max_by_fds != 0 &&
           l->counts.conns + connlimits_fd_margin(l) >= l->conf.max_by_fds;
}

const char *connlimits_admit(struct connlimits *l, struct connlimits_slot *slot,
                             const struct sockaddr *sa, unsigned prefix_v6, unsigned *limit,
                             bool *budget_full)
{
    const char *reached;

    memset(slot, 0, sizeof(*slot));
    conncount_key_of(sa, prefix_v6, &slot->ticket.key);
    pthread_mutex_lock(&l->lock);
    reached = conncount_add(&l->counts, &l->conf, &slot->ticket, limit);
    *budget_full = connlimits_budget_is_full(l);
    pthread_mutex_unlock(&l->lock);
    if (reached == NULL)
        slot->limits = l;
    return reached;
}

const char *connlimits_rekey(struct connlimits_slot *slot, const struct sockaddr *sa,
                             unsigned prefix_v6, unsigned *limit)
{
    struct conncount_key key;
    const char *reached;

    *limit = 0;
    if (slot->limits == NULL)
        return NULL;
    conncount_key_of(sa, prefix_v6, &key);
    pthread_mutex_lock(&slot->limits->lock);
    reached = conncount_rekey(&slot->limits->counts, &slot->limits->conf, &slot->ticket, &key,
                              limit);
    pthread_mutex_unlock(&slot->limits->lock);
    return reached;
}

const char *connlimits_upgrade(struct connlimits_slot *slot, const struct route *route,
                               unsigned *limit)
{
    const char *reached;

    if (slot->limits == NULL) {
        /* Not counted (cannot happen for an accepted connection): nothing to check. */
        *limit = 0;
        return NULL;
    }
    pthread_mutex_lock(&slot->limits->lock);
    reached = conncount_upgrade(&slot->limits->counts, route->max_connections, route->path,
                                &slot->ticket, limit);
    pthread_mutex_unlock(&slot->limits->lock);
    return reached;
}

void connlimits_leave_route(struct connlimits_slot *slot)
{
    if (slot->limits == NULL || slot->ticket.state != CONNCOUNT_CLIENT)
        return;
    pthread_mutex_lock(&slot->limits->lock);
    conncount_leave_route(&slot->limits->counts, &slot->ticket);
    pthread_mutex_unlock(&slot->limits->lock);
}

void connlimits_release(struct connlimits_slot *slot)
{
    if (slot->limits == NULL)
        return;
    connlimits_leave_route(slot);
    pthread_mutex_lock(&slot->limits->lock);
    conncount_remove(&slot->limits->counts, &slot->ticket);
    pthread_mutex_unlock(&slot->limits->lock);
    memset(slot, 0, sizeof(*slot));
}

void connlimits_move(struct connlimits_slot *to, struct connlimits_slot *from)
{
    if (from == NULL) {
        memset(to, 0, sizeof(*to));
        return;
    }
    *to = *from;
    memset(from, 0, sizeof(*from));
}

bool connlimits_has_room(struct connlimits *l)
{
    bool room;

    pthread_mutex_lock(&l->lock);
    room = !connlimits_budget_is_full(l);
    pthread_mutex_unlock(&l->lock);
    return room;
}

void connlimits_get(struct connlimits *l, struct connlimits_counts *out)
{
    pthread_mutex_lock(&l->lock);
    *out = (struct connlimits_counts){
        .conns = l->counts.conns,
        .pending = l->counts.pending,
        .clients = l->counts.clients,
        .addresses = l->counts.n_ips,
        .max_by_fds = l->conf.max_by_fds,
    };
    pthread_mutex_unlock(&l->lock);
}

void connlimits_free(struct connlimits *l)
{
    conncount_reset(&l->counts);
    if (l->lock_made)
        pthread_mutex_destroy(&l->lock);
    memset(l, 0, sizeof(*l));
}
