"""
74-source.py - proves a route's "source" (issue 17: one route past one address's ephemeral
range): the bridge binds its connection to the target to one of the route's source
addresses in turn, so a Python echo target sees connections from 127.0.0.2 and 127.0.0.3
(and only those), every echo coming back; a route without it connects from 127.0.0.1; a
source that is not this host's address is skipped for the next one. Config errors at
FILE:LINE:COL: a source of the other family than the target, one that is not an address,
one on a route whose target is a name or the built-in echo.
"""

import os
import re
import sys

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import check, section  # noqa: E402

SOURCES = ['127.0.0.2', '127.0.0.3']
CLIENTS = 6


def peers_of(d, target, path, n):
    """Opens <n> clients on <path>, one echo each; returns (echoed, target peer addresses)."""
    ok, first, peers = 0, target.accepted, []
    for i in range(n):
        w = wsb.open_ws(d.port, path)
        payload = b'source-%d' % i
        w.send(wsb.OP_BINARY, payload)
        data, _ = w.read_data(len(payload), timeout=5)
        ok += data == payload
        c = target.wait_conn(first + i, timeout=5 * wsb.SLOW)
        try:
            peers.append(c.sock.getpeername()[0] if c is not None else None)
        except OSError as e:
            peers.append(str(e))
        w.close()
    return ok, peers


def config_error(wdir, name, route, want):
    cfg = os.path.join(wdir, name + '.yaml')
    with open(cfg, 'w') as f:
        f.write(wsb.config_yaml(wsb.free_port(), [route]))
    status, _, err = wsb.run_cli(['--check', '-c', cfg], wdir=wdir)
    check('%s: exit status 2' % name, status == 2, 'status %s: %s' % (status, err[-300:]))
    check('%s: "%s" at FILE:LINE:COL' % (name, want),
          re.search(re.escape(cfg) + r':\d+:\d+: .*' + re.escape(want), err) is not None,
          err[-300:])


def main():
    wdir = wsb.workdir()
    with targets.Echo() as t:
        section('source: [ 127.0.0.2, 127.0.0.3 ]: the target sees both, in turn')
        routes = [{'path': '/src', 'target': t.port, 'source': SOURCES},
                  {'path': '/plain', 'target': t.port},
                  {'path': '/skip', 'target': t.port, 'source': ['192.0.2.1', '127.0.0.3']}]
        with wsb.Daemon(wdir, routes) as d:
            ok, peers = peers_of(d, t, '/src', CLIENTS)
            check('every client echoed through the target', ok == CLIENTS, 'echoed %d' % ok)
            check('the target saw only the source addresses', set(peers) == set(SOURCES),
                  repr(peers))
            check('each source in turn', all(peers.count(s) == CLIENTS // 2 for s in SOURCES),
                  repr(peers))

            section('a route without source: the kernel chooses (127.0.0.1)')
            ok, peers = peers_of(d, t, '/plain', 2)
            check('echoed, from 127.0.0.1', ok == 2 and set(peers) == {'127.0.0.1'}, repr(peers))

            section('a source that is not this host\'s is skipped for the next')
            ok, peers = peers_of(d, t, '/skip', 2)
            check('echoed, from 127.0.0.3', ok == 2 and set(peers) == {'127.0.0.3'}, repr(peers))

    section('config errors at FILE:LINE:COL')
    config_error(wdir, 'family', {'path': '/a', 'target': '127.0.0.1:9', 'source': ['::1']},
                 'every address must be IPv4')
    config_error(wdir, 'notaddr', {'path': '/a', 'target': '127.0.0.1:9',
                                   'source': ['127.0.0.2:80']}, 'not a numeric IPv4 or IPv6')
    config_error(wdir, 'name', {'path': '/a', 'target': 'localhost:9', 'source': '127.0.0.2'},
                 'is a name')
    config_error(wdir, 'echo', {'path': '/a', 'target': 'echo', 'source': '127.0.0.2'},
                 'needs a fixed target')


if __name__ == '__main__':
    wsb.run(main)
