/*
 * runconf.h - the running configuration: a parsed config file together with what it
 * names on disk (TLS contexts, the web root), loaded as one unit and shared by
 * reference. SIGHUP loads a new one next to the old; new connections take the new one
 * while every live connection keeps the one it started with, so a reload never changes
 * a connection under its feet. The last reference frees it. The current one is published
 * in a slot (a lock and a generation number) that every event loop reads.
 */
#ifndef WSB_RUNCONF_H
#define WSB_RUNCONF_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct config;
struct static_root;
struct tls;
struct tokens;

struct runconf {
    atomic_uint refs;        /* holders: the workers while it is current, and connections;
                              * atomic: a connection on any worker thread may drop the last */
    unsigned long generation; /* 1 for the first, +1 for each one loaded after it */
    unsigned workers;        /* config->workers, with auto resolved to the online CPUs */
    struct config *config;   /* owned */
    struct tls *tls;         /* owned: contexts of the TLS listeners and targets */
    struct static_root *web; /* owned: web root and MIME types; NULL without web_root */
    char *text;              /* owned: the YAML it was read from when that was not a file
                              * (websockify's command line); NULL: config->file */
    size_t text_len;
    struct tokens *tokens;   /* owned: the routes' token sources (tokens.c) */
};

/* Loads <file>: the YAML, then every certificate, key and CA file it names, its token
 * files, then its web root. Returns a runconf holding one reference, or NULL with the first error in <err>:
 * "FILE:LINE:COL: message" for the file itself and for TLS files (the position of the
 * setting that names them), "FILE: web_root \"DIR\": why" for the web root. */
struct runconf *runconf_load(const char *file, unsigned long generation, char *err,
                             size_t err_len);

/* As runconf_load, from <len> bytes of YAML at <text> (websockify's command line turned
 * into a route file, wsargs_yaml.h), named <name> in messages ("<command line>"). The
 * text is copied and kept, for runconf_reload. */
struct runconf *runconf_load_text(const char *name, const char *text, size_t len,
                                  unsigned long generation, char *err, size_t err_len);

/* Loads <cur>'s configuration again, with the next generation number, from where it came
 * from: its file, or its text (then only the files the text names can change:
 * certificates, keys, CA files, the web root, and what else they name). Returns as
 * runconf_load. */
struct runconf *runconf_reload(const struct runconf *cur, char *err, size_t err_len);

/* Checks that <next> may replace <cur> in a running server: the listen addresses (and
 * whether each is TLS) and the admin address are bound at start, and the worker threads
 * are started then, so none of them may change. Returns 0, or -1 with why in <err>. */
int runconf_check_replace(const struct runconf *cur, const struct runconf *next, char *err,
                          size_t err_len);

/* Takes a reference to <rc> and returns it. Any thread, with a reference already held
 * (or the lock that guards the pointer it came from). */
struct runconf *runconf_ref(struct runconf *rc);

/* Drops a reference to <rc>, freeing it with the last; NULL is fine. */
void runconf_unref(struct runconf *rc);

/* Where the current configuration is published for every event loop. Only the main
 * thread replaces it (reload); the loops take a reference when the generation says a new
 * one is there, at an accept or when woken. */
struct runconf_slot {
    pthread_mutex_t lock;    /* guards cur */
    bool lock_made;          /* lock initialised, to destroy */
    struct runconf *cur;     /* the current configuration, a reference; under lock */
    atomic_ulong generation; /* cur->generation: a loop sees a reload without the lock */
};

/* Publishes <rc> in <s> (taking its reference, even on failure). Returns 0, or -1 with
 * "what failed: why" in <err>; runconf_slot_free is safe afterwards either way. */
int runconf_slot_init(struct runconf_slot *s, struct runconf *rc, char *err, size_t err_len);

/* Makes <next> current (taking its reference) and drops the slot's reference to the one
 * it replaces: connections made under that one keep it alive until they end. */
void runconf_slot_publish(struct runconf_slot *s, struct runconf *next);

/* A reference to the current configuration. Any thread. */
struct runconf *runconf_slot_ref(struct runconf_slot *s);

/* The current configuration's generation, read without the lock. Any thread. */
unsigned long runconf_slot_generation(struct runconf_slot *s);

/* Drops the slot's reference and its lock. */
void runconf_slot_free(struct runconf_slot *s);

#endif
