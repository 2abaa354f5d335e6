/*
 * reqclient.c - the client of one request behind trusted reverse proxies: the header
 * lines of each kind gathered from the request head, forwarded.c asked with the trusted
 * list as its judge, and its answer turned into the address and scheme the checks use.
 */
#include "reqclient.h"

#include <string.h>
#include <strings.h>

#include "addr.h"
#include "forwarded.h"
#include "http_req.h"
#include "netlist.h"

/* The header lines of one kind, in the order they came. */
struct reqclient_lines {
    const char *v[REQCLIENT_LINES_MAX];
    size_t n;
    bool over; /* more than REQCLIENT_LINES_MAX */
};

static void reqclient_gather(const struct http_req *req, const char *name,
                             struct reqclient_lines *l)
{
    l->n = 0;
    l->over = false;
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, name) != 0)
            continue;
        if (l->n == REQCLIENT_LINES_MAX) {
            l->over = true;
            return;
        }
        l->v[l->n++] = req->headers[i].value;
    }
}

/* forwarded_trusted_fn over a netlist's allow list. */
static bool reqclient_is_trusted(void *arg, const struct sockaddr *sa)
{
    return netlist_is_allowed(arg, sa);
}

enum reqclient_result reqclient_find(const struct http_req *req, const struct netlist *trusted,
                                     const struct sockaddr *peer, bool tls, struct reqclient *out)
{
    struct reqclient_lines fw, xff, xfp;
    struct forwarded_headers h;
    struct forwarded_answer a;
    enum forwarded_result r;

    memset(out, 0, sizeof(*out));
    memcpy(&out->sa, peer, addr_sockaddr_len(peer));
    out->https = tls;
    /* netlist_is_allowed passes everyone on an empty allow list: no list, no trust. */
    if (trusted == NULL || trusted->n[NETLIST_ALLOW] == 0 || !netlist_is_allowed(trusted, peer))
        return REQCLIENT_PEER;
    reqclient_gather(req, "Forwarded", &fw);
    reqclient_gather(req, "X-Forwarded-For", &xff);
    reqclient_gather(req, "X-Forwarded-Proto", &xfp);
    if (fw.over || xff.over || xfp.over) {
        out->error = "too many forwarded header lines";
        return REQCLIENT_BAD;
    }
    h = (struct forwarded_headers){.forwarded = fw.v,
                                   .n_forwarded = fw.n,
                                   .xff = xff.v,
                                   .n_xff = xff.n,
                                   .xfp = xfp.v,
                                   .n_xfp = xfp.n};
    r = forwarded_find(&h, FORWARDED_USE_ANY, peer, reqclient_is_trusted, (void *)trusted, &a);
    if (r == FORWARDED_NO_CLIENT) {
        out->error = a.error != NULL ? a.error : "no usable client address";
        return REQCLIENT_BAD;
    }
    /* RFC 7239 §5.4: the scheme the client used to reach the proxy, when told. */
    if (a.proto != FORWARDED_PROTO_UNKNOWN)
        out->https = a.proto == FORWARDED_PROTO_HTTPS;
    if (r == FORWARDED_NONE)
        return REQCLIENT_PEER;
    memset(&out->sa, 0, sizeof(out->sa));
    memcpy(&out->sa, &a.client, a.client_len);
    out->source = a.source;
    return REQCLIENT_FORWARDED;
}
