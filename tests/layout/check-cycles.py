"""
check-cycles.py - proves that src/ has no cycle between modules, in two graphs:

- includes: module x -> y when x.c or x.h has `#include "y.h"` (a module is a stem with
  an x.c or an x.h in src/);
- calls: module x -> y when the object of x.c needs a symbol (nm: undefined) that the
  object of y.c defines, read from src/libwsbridge.a in the build tree.

A module may be split into several files that share a private header "x-internal.h"
(config.c and its pieces config_route.c, config_tls.c ... over config-internal.h): the
files that include it are one node, x, in both graphs, since calls between them are one
module's own business (the walker recursing into a route's keys). A cycle (x -> ... -> x)
between modules is reported with its members, and the check fails. Run by
make check; by hand: /usr/bin/python3 tests/layout/check-cycles.py [--graph] [SRC [LIB]]
(--graph prints both graphs, one "x -> y z" line per module). Exit 0: no cycle; 1: a cycle;
77: the library or nm is missing (skip); 99: the check itself broke.
"""

import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)\.h"', re.M)


def modules(src):
    """Stems of the .c and .h files in <src>."""
    return sorted({f[:-2] for f in os.listdir(src) if f.endswith(('.c', '.h'))})


def families(src):
    """Stem -> the module it belongs to: x for x-internal.h and for every file that
    includes it, itself otherwise."""
    fam = {m: m for m in modules(src)}
    for m in list(fam):
        if m.endswith('-internal'):
            fam[m] = m[:-len('-internal')]
    for m in list(fam):
        for ext in ('.c', '.h'):
            path = os.path.join(src, m + ext)
            if not os.path.exists(path):
                continue
            with open(path, encoding='utf-8') as f:
                for dep in INCLUDE.findall(f.read()):
                    if dep.endswith('-internal') and m != dep:
                        fam[m] = dep[:-len('-internal')]
    return fam


def include_graph(src, fam):
    mods = set(modules(src))
    graph = {fam[m]: set() for m in mods}
    for m in mods:
        for ext in ('.c', '.h'):
            path = os.path.join(src, m + ext)
            if not os.path.exists(path):
                continue
            with open(path, encoding='utf-8') as f:
                for dep in INCLUDE.findall(f.read()):
                    if dep in mods and fam[dep] != fam[m]:
                        graph[fam[m]].add(fam[dep])
    return graph


def call_graph(lib, fam):
    """Module -> modules whose symbols it uses, from `nm` of the archive's members."""
    out = subprocess.run(['nm', '-A', '--defined-only', lib], capture_output=True, text=True,
                         check=True).stdout
    defined = {}
    for line in out.splitlines():
        member, _, rest = line.rpartition(':')
        parts = rest.split()
        if len(parts) == 3 and parts[1] in 'TDBRVW':
            mod = member_module(member)
            defined[parts[2]] = fam.get(mod, mod)
    out = subprocess.run(['nm', '-A', '--undefined-only', lib], capture_output=True,
                         text=True, check=True).stdout
    graph = {m: set() for m in set(defined.values())}
    for line in out.splitlines():
        member, _, rest = line.rpartition(':')
        parts = rest.split()
        if len(parts) != 2 or parts[0] != 'U':
            continue
        me, other = member_module(member), defined.get(parts[1])
        me = fam.get(me, me)
        graph.setdefault(me, set())
        if other is not None and other != me:
            graph[me].add(other)
    return graph


def member_module(member):
    """"…/libwsbridge.a:libwsbridge_a-conn.o" -> "conn"."""
    name = member.rsplit(':', 1)[-1]
    name = re.sub(r'^.*_a-', '', name)
    return re.sub(r'\.o$', '', name)


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    comp.append(m)
                    if m == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def one_cycle(graph, comp):
    """A shortest path from comp[0] back to itself inside <comp>, for the message."""
    start, members = comp[0], set(comp)
    prev, queue = {start: None}, [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                path = [node]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return ' -> '.join(list(reversed(path)) + [start])
            if nxt in members and nxt not in prev:
                prev[nxt] = node
                queue.append(nxt)
    return ' '.join(comp)


def show(name, graph):
    print('%s graph:' % name)
    for m in sorted(graph):
        if graph[m]:
            print('  %s -> %s' % (m, ' '.join(sorted(graph[m]))))


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    src = args[0] if args else os.path.join(os.environ.get('WSB_SRCDIR', '.'), 'src')
    if len(args) > 1:
        lib = args[1]
    else:
        daemon = os.environ.get('WSBRIDGE', 'build/src/wsbridge')
        lib = os.path.join(os.path.dirname(daemon), 'libwsbridge.a')
    if not os.path.isdir(src):
        print('ERROR: no source folder %s' % src)
        return 99
    failed = False
    fam = families(src)
    graphs = [('include', include_graph(src, fam))]
    if os.path.exists(lib):
        try:
            graphs.append(('call', call_graph(lib, fam)))
        except (OSError, subprocess.CalledProcessError) as e:
            print('SKIP: nm on %s: %s' % (lib, e))
            return 77
    else:
        print('SKIP (calls): no %s' % lib)
    for name, graph in graphs:
        if '--graph' in sys.argv:
            show(name, graph)
        found = cycles(graph)
        for comp in found:
            print('FAIL: %s cycle among %s: %s' % (name, ', '.join(comp), one_cycle(graph, comp)))
        if not found:
            print('ok: %s graph of %d modules has no cycle' % (name, len(graph)))
        failed = failed or bool(found)
    if len(graphs) < 2:
        return 77 if not failed else 1
    return 1 if failed else 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except Exception as e:  # noqa: BLE001 - a broken check is not a failed one
        print('ERROR: check-cycles broke: %r' % e)
        sys.exit(99)
