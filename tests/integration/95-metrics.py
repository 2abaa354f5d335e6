"""
95-metrics.py - proves wsbridge's admin endpoint and its counters. Every /metrics answer
is read by a strict parser of the Prometheus text format 0.0.4 written here from the
spec (HELP and TYPE once per family and before its samples, metric and label name
grammar, label value escapes, Go float values with NaN and +Inf, each family's samples
in one group, no sample twice, histogram buckets with increasing le, cumulative counts
and le="+Inf" equal to _count); the parser is first shown to refuse a table of broken
texts. Then real traffic moves the numbers by exactly what was sent: python3-websockets
clients through a TCP echo target and the raw client through the built-in echo give
connections_total +N, payload bytes each way equal to the bytes sent and echoed,
connections_open back to 0, closes by code (1000 normal, 1002 after a reserved opcode),
the connect latency histogram's count +N; a path without a route (404), a refused Origin
(403) and a refused target (502) are counted by status and reason; a target that never
reads and a client that never reads each count a backpressure pause. /healthz answers
"ok", unknown paths 404, POST 405 with Allow: GET, HEAD, HEAD the head alone, a slow
request 408, a huge one 431; more than 32 idle admin connections are closed unanswered;
a scrape every 50 ms while 20 clients stream does not disturb them; a scrape never blocks
worker 0: with worker 1's thread stopped (ptrace), an echo on worker 0 is answered while
the scrape waits for it, and the scrape is answered after the copy deadline without that
worker (its late copy is dropped once it runs again); an admin port in use stops the
start with status 1; after SIGTERM a request still being read gets 503 "stopping" and the
admin port is closed.
"""

import asyncio
import ctypes
import http.client
import math
import os
import re
import select
import signal
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import KiB, MiB, check, section  # noqa: E402

CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'
STREAMERS = 20
STREAM_BYTES = 2 * MiB
STREAM_CHUNK = 32 * KiB


# ------------------------------------------------------------------------------------------
# A strict parser of the text format 0.0.4 (prometheus/docs, "Exposition formats")

class ExpositionError(Exception):
    pass


METRIC_NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')
LABEL_NAME = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*')
# Go's ParseFloat as the format uses it: decimal floats, NaN, +Inf and -Inf.
FLOAT = re.compile(r'(?:[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|NaN|[+-]Inf)$')
TIMESTAMP = re.compile(r'-?[0-9]+$')
TYPES = ('counter', 'gauge', 'histogram', 'summary', 'untyped')
BLANKS = ' \t'


class Family:
    def __init__(self, name):
        self.name, self.type, self.help = name, None, None
        self.samples = []           # (sample name, labels dict, value)
        self.done = False           # another family's samples followed its own


class Exposition:
    def __init__(self):
        self.families = {}          # name -> Family, in order of appearance
        self.seen = set()           # (sample name, sorted labels): each sample once

    def value(self, name, **labels):
        """Value of sample <name> with exactly <labels>, or None."""
        for fam in self.families.values():
            for n, l, v in fam.samples:
                if n == name and l == labels:
                    return v
        return None

    def sum(self, name, **labels):
        """Sum of the samples <name> whose labels include <labels> (0 if none)."""
        total = 0.0
        for fam in self.families.values():
            for n, l, v in fam.samples:
                if n == name and all(l.get(k) == x for k, x in labels.items()):
                    total += v
        return total

    def samples(self, name):
        return [(l, v) for f in self.families.values() for n, l, v in f.samples if n == name]


def _unescape(s, quote):
    """The text of a HELP docstring (<quote> False: \\\\ and \\n) or label value (also \\")."""
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c != '\\':
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(s):
            raise ExpositionError('backslash at the end')
        e = s[i + 1]
        if e == '\\':
            out.append('\\')
        elif e == 'n':
            out.append('\n')
        elif e == '"' and quote:
            out.append('"')
        else:
            raise ExpositionError('unknown escape \\%s' % e)
        i += 2
    return ''.join(out)


def _skip_blanks(line, pos):
    while pos < len(line) and line[pos] in BLANKS:
        pos += 1
    return pos


def _parse_labels(line, pos):
    """Labels from the "{" at <pos>; returns (dict, position after "}")."""
    labels = {}
    pos += 1
    while True:
        pos = _skip_blanks(line, pos)
        if pos < len(line) and line[pos] == '}':
            return labels, pos + 1
        m = LABEL_NAME.match(line, pos)
        if not m:
            raise ExpositionError('bad label name at column %d' % (pos + 1))
        name = m.group(0)
        if name.startswith('__'):
            raise ExpositionError('label name %s is reserved' % name)
        if name in labels:
            raise ExpositionError('label %s given twice' % name)
        pos = _skip_blanks(line, m.end())
        if line[pos:pos + 1] != '=':
            raise ExpositionError('no "=" after label %s' % name)
        pos = _skip_blanks(line, pos + 1)
        if line[pos:pos + 1] != '"':
            raise ExpositionError('label %s: value not quoted' % name)
        end = pos + 1
        while end < len(line) and line[end] != '"':
            end += 2 if line[end] == '\\' else 1
        if end >= len(line):
            raise ExpositionError('label %s: unterminated value' % name)
        labels[name] = _unescape(line[pos + 1:end], True)
        pos = _skip_blanks(line, end + 1)
        if line[pos:pos + 1] == ',':
            pos += 1
        elif line[pos:pos + 1] != '}':
            raise ExpositionError('expected "," or "}" after label %s' % name)


def _parse_value(tok):
    if not FLOAT.match(tok):
        raise ExpositionError('bad value %r' % tok)
    return float(tok)


def _family_of(expo, name):
    """The family a sample named <name> belongs to (histogram and summary suffixes)."""
    f = expo.families.get(name)
    if f is not None and f.type is not None:
        return f
    for suffix, types in (('_bucket', ('histogram',)), ('_sum', ('histogram', 'summary')),
                          ('_count', ('histogram', 'summary'))):
        if name.endswith(suffix):
            base = expo.families.get(name[:-len(suffix)])
            if base is not None and base.type in types:
                return base
    if f is None:
        f = expo.families[name] = Family(name)      # a sample without TYPE: untyped
    return f


def parse_exposition(text):
    """Parses <text> (str); returns an Exposition or raises ExpositionError."""
    expo = Exposition()
    current = None
    if text and not text.endswith('\n'):
        raise ExpositionError('the last line does not end with a line feed')
    for lineno, line in enumerate(text.split('\n')[:-1] if text else [], 1):
        try:
            current = _parse_line(expo, line, current)
        except ExpositionError as e:
            raise ExpositionError('line %d: %s: %r' % (lineno, e, line[:120])) from None
    for f in expo.families.values():
        _check_family(f)
    return expo


def _parse_line(expo, line, current):
    if line.strip(BLANKS) == '':
        return current
    if line.lstrip(BLANKS).startswith('#'):
        m = re.match(r'[ \t]*#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$', line)
        if not m:
            return current                          # a comment
        kind, name, rest = m.group(1), m.group(2), m.group(3) or ''
        if not METRIC_NAME.fullmatch(name):
            raise ExpositionError('bad metric name %r' % name)
        f = expo.families.setdefault(name, Family(name))
        if f.samples or f.done:
            raise ExpositionError('%s of %s after its samples' % (kind, name))
        if kind == 'HELP':
            if f.help is not None:
                raise ExpositionError('second HELP for %s' % name)
            f.help = _unescape(rest, False)
        else:
            if f.type is not None:
                raise ExpositionError('second TYPE for %s' % name)
            if rest not in TYPES:
                raise ExpositionError('unknown type %r' % rest)
            f.type = rest
        if current is not None and current is not f:
            current.done = True
        return f
    m = METRIC_NAME.match(line)
    if not m:
        raise ExpositionError('bad metric name')
    name, pos, labels = m.group(0), m.end(), {}
    if line[pos:pos + 1] == '{':
        labels, pos = _parse_labels(line, pos)
    if line[pos:pos + 1] not in (' ', '\t'):
        raise ExpositionError('no blank before the value')
    toks = line[pos:].split()
    if len(toks) not in (1, 2):
        raise ExpositionError('expected a value and an optional timestamp')
    value = _parse_value(toks[0])
    if len(toks) == 2 and not TIMESTAMP.match(toks[1]):
        raise ExpositionError('bad timestamp %r' % toks[1])
    f = _family_of(expo, name)
    if f.done:
        raise ExpositionError('samples of %s are not in one group' % f.name)
    if current is not None and current is not f:
        current.done = True
    key = (name, tuple(sorted(labels.items())))
    if key in expo.seen:
        raise ExpositionError('sample given twice')
    expo.seen.add(key)
    f.samples.append((name, labels, value))
    return f


def _check_family(f):
    """Type rules: counters never negative or NaN; histograms whole and cumulative."""
    if f.type == 'counter':
        for n, l, v in f.samples:
            if n != f.name or math.isnan(v) or v < 0:
                raise ExpositionError('counter %s: bad sample %s %r' % (f.name, n, v))
    if f.type == 'gauge':
        for n, l, v in f.samples:
            if n != f.name:
                raise ExpositionError('gauge %s: sample named %s' % (f.name, n))
    if f.type != 'histogram':
        return
    series = {}
    for n, l, v in f.samples:
        rest = tuple(sorted((k, x) for k, x in l.items() if k != 'le'))
        s = series.setdefault(rest, {'buckets': [], 'sum': None, 'count': None})
        if n == f.name + '_bucket':
            if 'le' not in l:
                raise ExpositionError('%s: bucket without le' % f.name)
            s['buckets'].append((_parse_value(l['le']), v))
        elif 'le' in l:
            raise ExpositionError('%s: le on %s' % (f.name, n))
        elif n == f.name + '_sum':
            s['sum'] = v
        elif n == f.name + '_count':
            s['count'] = v
        else:
            raise ExpositionError('%s: stray sample %s' % (f.name, n))
    for rest, s in series.items():
        b = s['buckets']
        if not b or b[-1][0] != math.inf:
            raise ExpositionError('%s%r: no le="+Inf" bucket last' % (f.name, rest))
        for (le0, c0), (le1, c1) in zip(b, b[1:]):
            if not le1 > le0:
                raise ExpositionError('%s%r: le not increasing' % (f.name, rest))
            if c1 < c0:
                raise ExpositionError('%s%r: buckets not cumulative' % (f.name, rest))
        if s['count'] is None or s['sum'] is None:
            raise ExpositionError('%s%r: no _sum or _count' % (f.name, rest))
        if s['count'] != b[-1][1]:
            raise ExpositionError('%s%r: _count %r != +Inf bucket %r'
                                  % (f.name, rest, s['count'], b[-1][1]))


GOOD_TEXT = '''# HELP a_total A "counter" with \\\\ and \\n.
# TYPE a_total counter
a_total{route="/x\\"y\\\\z\\n",b="2",} 3
a_total 1e+06
# a comment
# TYPE g gauge
g NaN
g{x="1"} +Inf 1700000000000
# TYPE h histogram
h_bucket{le="0.5"} 1
h_bucket{le="+Inf"} 2
h_sum 0.75
h_count 2
untyped_thing -1.5e-3
'''

BAD_TEXTS = [
    ('no final line feed', '# TYPE a counter\na 1'),
    ('metric name starting with a digit', '1a 1\n'),
    ('label name with a dash', 'a{b-c="1"} 1\n'),
    ('reserved label name', 'a{__x="1"} 1\n'),
    ('label given twice', 'a{b="1",b="2"} 1\n'),
    ('unquoted label value', 'a{b=1} 1\n'),
    ('unknown escape in a label value', 'a{b="\\t"} 1\n'),
    ('unterminated label value', 'a{b="1} 1\n'),
    ('value that is a word', 'a x\n'),
    ('Go-only spelling of infinity', 'a Inf\n'),
    ('two values and a timestamp', 'a 1 2 3\n'),
    ('no blank before the value', 'a{b="1"}1\n'),
    ('second TYPE', '# TYPE a gauge\n# TYPE a gauge\na 1\n'),
    ('second HELP', '# HELP a x\n# HELP a y\na 1\n'),
    ('TYPE after the samples', 'a 1\n# TYPE a gauge\n'),
    ('unknown type', '# TYPE a meter\na 1\n'),
    ('samples not in one group', '# TYPE a gauge\na{x="1"} 1\n# TYPE b gauge\nb 1\na{x="2"} 1\n'),
    ('sample given twice', '# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n'),
    ('negative counter', '# TYPE a counter\na -1\n'),
    ('histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'),
    ('histogram not cumulative',
     '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'),
    ('histogram le not increasing',
     '# TYPE h histogram\nh_bucket{le="2"} 1\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\n'
     'h_sum 1\nh_count 1\n'),
    ('histogram _count differs from +Inf',
     '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n'),
    ('histogram without _sum', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 2\n'),
]


def test_parser():
    with section('the strict parser'):
        try:
            e = parse_exposition(GOOD_TEXT)
            ok = (e.value('a_total', route='/x"y\\z\n', b='2') == 3 and
                  e.families['a_total'].help == 'A "counter" with \\ and \n.' and
                  math.isnan(e.value('g')) and e.value('g', x='1') == math.inf and
                  e.value('h_count') == 2 and e.families['untyped_thing'].type is None)
            check('parser: reads a valid text with every construct', ok, 'values wrong')
        except ExpositionError as x:
            check('parser: reads a valid text with every construct', False, str(x))
        for name, text in BAD_TEXTS:
            try:
                parse_exposition(text)
                check('parser refuses: %s' % name, False, 'accepted %r' % text)
            except ExpositionError:
                check('parser refuses: %s' % name, True)


# ------------------------------------------------------------------------------------------
# HTTP to the admin endpoint

def admin_get(port, path, method='GET', body=None, timeout=5):
    """(status, headers dict with lower-case names, body bytes) of one request."""
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout * wsb.SLOW)
    try:
        c.request(method, path, body=body)
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def scrape(port):
    """The parsed /metrics of the daemon; raises AssertionError on a bad answer."""
    status, headers, body = admin_get(port, '/metrics')
    if status != 200:
        raise AssertionError('GET /metrics: %d %r' % (status, body[:200]))
    if headers.get('content-type') != CONTENT_TYPE:
        raise AssertionError('Content-Type %r' % headers.get('content-type'))
    if int(headers.get('content-length', -1)) != len(body):
        raise AssertionError('Content-Length %r for %d bytes'
                             % (headers.get('content-length'), len(body)))
    try:
        return parse_exposition(body.decode('utf-8'))
    except (UnicodeDecodeError, ExpositionError) as e:
        raise AssertionError('GET /metrics: not valid text format 0.0.4: %s' % e) from None


def raw_handshake(port, path, extra=()):
    """One opening handshake with headers <extra>; returns the status."""
    s = wsb.connect(port)
    try:
        h = wsb.ws_headers('127.0.0.1:%d' % port, wsb.new_key()) + list(extra)
        s.sendall(wsb.http_request(path, h))
        return wsb.read_response(s).status
    finally:
        s.close()


def wait_metric(port, name, want, timeout=5, **labels):
    """Scrapes until sample <name>{<labels>} satisfies <want>(value); returns the last
    value (None if absent)."""
    deadline = time.monotonic() + timeout * wsb.SLOW
    while True:
        v = scrape(port).value(name, **labels)
        if (v is not None and want(v)) or time.monotonic() > deadline:
            return v
        time.sleep(0.05)


# ------------------------------------------------------------------------------------------
# Traffic

async def ws_echo_session(url, payloads):
    """Sends each payload, reads its echo, closes normally. Returns bytes echoed."""
    import websockets
    got = 0
    async with websockets.connect(url, compression=None, max_size=None) as ws:
        for p in payloads:
            await ws.send(p)
            data, _ = await wsb.ws_recv_bytes(ws, len(p))
            if data != p:
                raise AssertionError('echo differs')
            got += len(data)
    return got


def delta(before, after, name, **labels):
    a = after.value(name, **labels)
    b = before.value(name, **labels)
    return None if a is None else a - (b or 0)


def test_traffic(d, aport):
    with section('counters follow traffic'):
        m0 = scrape(aport)
        check('every configured route is exposed at start, at zero',
              all(m0.value('wsbridge_connections_total', route=r) == 0
                  for r in ('/tcp', '/echo', '/silent', '/flood', '/refused')),
              'samples: %r' % m0.samples('wsbridge_connections_total'))
        for fam, typ in (('wsbridge_connections_total', 'counter'),
                         ('wsbridge_bytes_to_target_total', 'counter'),
                         ('wsbridge_bytes_to_client_total', 'counter'),
                         ('wsbridge_connections_open', 'gauge'),
                         ('wsbridge_backpressure_pauses_total', 'counter'),
                         ('wsbridge_target_connect_seconds', 'histogram'),
                         ('wsbridge_handshakes_failed_total', 'counter'),
                         ('wsbridge_closes_total', 'counter'),
                         ('wsbridge_connections_by_state', 'gauge'),
                         ('process_open_fds', 'gauge')):
            f = m0.families.get(fam)
            check('family %s: %s with HELP' % (fam, typ),
                  f is not None and f.type == typ and f.help, 'got %r' % (f and f.type))

        # Three clients through the TCP echo target, python3-websockets, close 1000.
        sessions = [[b'x' * 100, os.urandom(5000)], [os.urandom(70000)],
                    [b'a', b'bc', os.urandom(300)]]
        sent = sum(len(p) for s in sessions for p in s)

        async def three():
            return await asyncio.gather(*(ws_echo_session(d.url('/tcp'), s) for s in sessions))
        echoed = sum(wsb.arun(three(), 20))
        check('three clients got their %d bytes back' % sent, echoed == sent,
              'echoed %d' % echoed)

        # The raw client on the built-in echo: 3 bytes, then a reserved opcode (1002).
        ws = wsb.open_ws(d.port, '/echo')
        ws.send(wsb.OP_BINARY, b'abc')
        data, _ = ws.read_data(3)
        ws.send(0x3, b'')
        close, _, _ = ws.read_until_close()
        code = wsb.parse_close(close.payload)[0] if close is not None else None
        check('reserved opcode: close 1002', code == 1002, 'got %r' % code)
        a = d.wait_access(ws.local)
        check('reserved opcode: access line close=1002', a is not None and a['close'] == '1002',
              a and a['_line'])
        ws.close()

        # Refusals: no route, an Origin not allowed, a target that refuses.
        check('no route: 404', raw_handshake(d.port, '/nope') == 404)
        check('Origin not allowed: 403',
              raw_handshake(d.port, '/tcp', [('Origin', 'https://evil.example')]) == 403)
        check('refused target: 502', raw_handshake(d.port, '/refused') == 502)

        v = wait_metric(aport, 'wsbridge_connections_open', lambda v: v == 0, route='/tcp')
        m1 = scrape(aport)
        check('connections_total{/tcp} +3', delta(m0, m1, 'wsbridge_connections_total',
                                                  route='/tcp') == 3,
              'delta %r' % delta(m0, m1, 'wsbridge_connections_total', route='/tcp'))
        check('connections_total{/echo} +1', delta(m0, m1, 'wsbridge_connections_total',
                                                   route='/echo') == 1,
              'delta %r' % delta(m0, m1, 'wsbridge_connections_total', route='/echo'))
        check('connections_total{/refused} +0 (no 101)',
              delta(m0, m1, 'wsbridge_connections_total', route='/refused') == 0)
        for name in ('wsbridge_bytes_to_target_total', 'wsbridge_bytes_to_client_total'):
            dv = delta(m0, m1, name, route='/tcp')
            check('%s{/tcp} +%d (bytes sent and echoed)' % (name, sent), dv == sent,
                  'delta %r' % dv)
            dv = delta(m0, m1, name, route='/echo')
            check('%s{/echo} +3' % name, dv == 3, 'delta %r' % dv)
        check('connections_open back to 0 on every route',
              v == 0 and all(x == 0 for _, x in m1.samples('wsbridge_connections_open')),
              'samples %r' % m1.samples('wsbridge_connections_open'))
        check('connections_by_state{open} is 0',
              m1.value('wsbridge_connections_by_state', state='open') == 0)
        dv = delta(m0, m1, 'wsbridge_closes_total', code='1000')
        check('closes_total{code="1000"} +3', dv == 3, 'delta %r' % dv)
        dv = delta(m0, m1, 'wsbridge_closes_total', code='1002')
        check('closes_total{code="1002"} +1', dv == 1, 'delta %r' % dv)
        for status, reason in (('404', 'no route for this path'),
                               ('403', 'origin not allowed'),
                               ('502', 'target connect failed')):
            dv = delta(m0, m1, 'wsbridge_handshakes_failed_total', status=status, reason=reason)
            check('handshakes_failed_total{status="%s",reason="%s"} +1' % (status, reason),
                  dv == 1, 'delta %r; samples %r'
                  % (dv, m1.samples('wsbridge_handshakes_failed_total')))
        for route, n in (('/tcp', 3), ('/echo', 1)):
            dv = delta(m0, m1, 'wsbridge_target_connect_seconds_count', route=route)
            check('target_connect_seconds_count{%s} +%d' % (route, n), dv == n, 'delta %r' % dv)
            dv = delta(m0, m1, 'wsbridge_target_connect_seconds_bucket', route=route, le='10')
            check('target_connect_seconds{%s}: all %d under 10 s' % (route, n), dv == n,
                  'delta %r' % dv)
        s = delta(m0, m1, 'wsbridge_target_connect_seconds_sum', route='/tcp')
        check('target_connect_seconds_sum{/tcp} grew by a plausible time',
              s is not None and 0 < s < 3, 'delta %r' % s)


def test_backpressure(d, aport, silent, flood):
    with section('backpressure pauses are counted'):
        before = scrape(aport)
        # A target that never reads: the client is paused once the bridge holds more than
        # high_watermark for it.
        ws = wsb.open_ws(d.port, '/silent')
        chunk = wsb.build_frame(wsb.OP_BINARY, b'\0' * (256 * KiB))
        ws.sock.settimeout(0.5)
        deadline = time.monotonic() + 10 * wsb.SLOW
        pushed = 0
        while time.monotonic() < deadline and pushed < 64 * MiB:
            try:
                ws.sock.sendall(chunk)      # whole frames, or a timeout: then we stop
            except socket.timeout:
                break               # the bridge stopped reading us
            pushed += len(chunk)
        v = wait_metric(aport, 'wsbridge_backpressure_pauses_total',
                        lambda v: v >= 1, route='/silent', paused='client')
        check('target never reads: pauses{/silent,paused="client"} >= 1 (after %d KiB)'
              % (pushed // KiB), v is not None and v >= 1, 'value %r' % v)
        ws.close()
        # A client that never reads: the flood target is paused.
        ws = wsb.open_ws(d.port, '/flood')
        v = wait_metric(aport, 'wsbridge_backpressure_pauses_total',
                        lambda v: v >= 1, route='/flood', paused='target')
        check('client never reads: pauses{/flood,paused="target"} >= 1',
              v is not None and v >= 1, 'value %r' % v)
        ws.close()
        after = wait_metric(aport, 'wsbridge_connections_open', lambda v: v == 0, route='/flood')
        check('paused clients closed: connections_open{/flood} 0', after == 0, 'value %r' % after)
        check('pauses of other routes unchanged',
              delta(before, scrape(aport), 'wsbridge_backpressure_pauses_total', route='/tcp',
                    paused='client') == 0)


def test_endpoints(d, aport):
    with section('admin endpoints'):
        status, headers, body = admin_get(aport, '/healthz')
        check('/healthz: 200 "ok"', status == 200 and body == b'ok\n', '%d %r' % (status, body))
        check('/healthz: Connection: close', headers.get('connection') == 'close',
              headers.get('connection'))
        status, headers, body = admin_get(aport, '/metrics?name[]=x')
        check('/metrics?query: 200 (the query is ignored)', status == 200, status)
        status, headers, body = admin_get(aport, '/nope')
        check('unknown path: 404', status == 404, '%d %r' % (status, body))
        status, headers, body = admin_get(aport, '/metrics/')
        check('/metrics/ is not /metrics: 404', status == 404, status)
        status, headers, body = admin_get(aport, '/metrics', method='POST', body=b'x=1')
        allow = [m.strip() for m in headers.get('allow', '').split(',')]
        check('POST /metrics: 405', status == 405, '%d %r' % (status, body))
        check('POST /metrics: Allow: GET, HEAD', sorted(allow) == ['GET', 'HEAD'],
              headers.get('allow'))
        status, headers, body = admin_get(aport, '/healthz', method='DELETE')
        check('DELETE /healthz: 405', status == 405, status)
        status, headers, body = admin_get(aport, '/metrics', method='HEAD')
        check('HEAD /metrics: 200, the head alone',
              status == 200 and body == b'' and int(headers.get('content-length', 0)) > 1000 and
              headers.get('content-type') == CONTENT_TYPE, '%d %r' % (status, headers))
        # HEAD of an error: no body either (read raw: the client library trusts us)
        s = wsb.connect(aport)
        s.sendall(b'HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n')
        closed, _, seen = wsb.wait_closed(s, 5)
        s.close()
        check('HEAD /nope: 404 head, no body, then close',
              closed and seen.startswith(b'HTTP/1.1 404 ') and seen.endswith(b'\r\n\r\n'),
              '%r' % seen[:200])
        # A request head over max_request_head (16 KiB): 431.
        s = wsb.connect(aport)
        s.sendall(b'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * (20 * KiB) +
                  b'\r\n\r\n')
        try:
            r = wsb.read_response(s)
            check('head over max_request_head: 431', r.status == 431, r)
        except (wsb.PeerClosed, OSError) as e:
            check('head over max_request_head: 431', False, str(e))
        s.close()
        # A request that never ends: 408 after handshake_timeout (2 s here).
        s = wsb.connect(aport)
        s.sendall(b'GET /metrics HTTP/1.1\r\n')
        t0 = time.monotonic()
        r = wsb.read_response(s, timeout=6)
        took = time.monotonic() - t0
        s.close()
        check('slow admin request: 408 after about 2 s', r.status == 408 and 1.5 < took < 5,
              '%r after %.1f s' % (r, took))


def test_conn_bound(d, aport):
    with section('at most 32 admin requests at once'):
        socks = []
        try:
            for _ in range(32):
                socks.append(wsb.connect(aport))
            time.sleep(0.3)
            extra = wsb.connect(aport)
            extra.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
            closed, _, seen = wsb.wait_closed(extra, 5)
            extra.close()
            check('33rd admin connection closed unanswered', closed and seen == b'',
                  'closed %s, got %r' % (closed, seen[:100]))
            check('the WebSocket port still serves meanwhile',
                  raw_handshake(d.port, '/echo') == 101)
        finally:
            for s in socks:
                s.close()
        deadline = time.monotonic() + 5 * wsb.SLOW
        status = None
        while time.monotonic() < deadline:
            try:
                status = admin_get(aport, '/healthz')[0]
                break
            except (OSError, http.client.HTTPException):
                time.sleep(0.1)
        check('after they close, /healthz answers again', status == 200, status)


def test_scrape_under_load(d, aport):
    with section('scrapes while %d clients stream' % STREAMERS):
        import websockets
        results = {}
        scrapes = {'n': 0, 'open': [], 'errors': []}
        stop = threading.Event()
        opened = threading.Event()

        def scraper():
            opened.wait(20)
            while not stop.is_set() and scrapes['n'] < 2000:
                try:
                    m = scrape(aport)
                    scrapes['n'] += 1
                    scrapes['open'].append(m.value('wsbridge_connections_open', route='/tcp'))
                except Exception as e:      # noqa: BLE001 - recorded as a finding
                    scrapes['errors'].append(repr(e))
                time.sleep(0.05)

        async def streamer(i, conns):
            pattern = os.urandom(STREAM_CHUNK)
            ws = conns[i]
            got = bytearray()
            sent = 0

            async def reader():
                while len(got) < STREAM_BYTES:
                    m = await ws.recv()
                    got.extend(m)

            rt = asyncio.ensure_future(reader())
            while sent < STREAM_BYTES:
                await ws.send(pattern)
                sent += len(pattern)
            await asyncio.wait_for(rt, 60 * wsb.SLOW)
            ok = all(got[k:k + STREAM_CHUNK] == pattern for k in range(0, len(got), STREAM_CHUNK))
            await ws.close()
            results[i] = (len(got), ok, ws.close_code)

        async def main():
            conns = []
            for _ in range(STREAMERS):
                conns.append(await websockets.connect(d.url('/tcp'), compression=None,
                                                      max_size=None))
            opened.set()
            await asyncio.sleep(0.2)
            await asyncio.gather(*(streamer(i, conns) for i in range(STREAMERS)))

        t = threading.Thread(target=scraper)
        before = scrape(aport)
        t.start()
        try:
            wsb.arun(main(), 120)
        finally:
            stop.set()
            opened.set()
            t.join(10)
        good = [i for i, (n, ok, code) in results.items()
                if n == STREAM_BYTES and ok and code == 1000]
        check('%d clients each got %d MiB back intact and closed 1000'
              % (STREAMERS, STREAM_BYTES // MiB), len(good) == STREAMERS,
              'results %r' % sorted(results.items())[:5])
        check('scrapes during the stream: at least 3, every one valid',
              scrapes['n'] >= 3 and not scrapes['errors'],
              '%d scrapes, errors %r' % (scrapes['n'], scrapes['errors'][:3]))
        check('a scrape saw all %d open' % STREAMERS, STREAMERS in scrapes['open'],
              'open values %r' % scrapes['open'][:20])
        v = wait_metric(aport, 'wsbridge_connections_open', lambda v: v == 0, route='/tcp')
        after = scrape(aport)
        check('after the stream: connections_open{/tcp} 0', v == 0, 'value %r' % v)
        dv = delta(before, after, 'wsbridge_bytes_to_target_total', route='/tcp')
        check('bytes_to_target{/tcp} +%d' % (STREAMERS * STREAM_BYTES),
              dv == STREAMERS * STREAM_BYTES, 'delta %r' % dv)
        dv = delta(before, after, 'wsbridge_bytes_to_client_total', route='/tcp')
        check('bytes_to_client{/tcp} +%d' % (STREAMERS * STREAM_BYTES),
              dv == STREAMERS * STREAM_BYTES, 'delta %r' % dv)
        dv = delta(before, after, 'wsbridge_closes_total', code='1000')
        check('closes_total{1000} +%d' % STREAMERS, dv == STREAMERS, 'delta %r' % dv)


class ThreadStop:
    """Stops one thread of another process (ptrace: PTRACE_SEIZE, PTRACE_INTERRUPT) while
    the others run on, and lets it go on exit. .ok is False if ptrace is not allowed."""
    SEIZE, INTERRUPT, DETACH, WALL = 0x4206, 0x4207, 17, 0x40000000

    def __init__(self, tid):
        self.tid, self.ok = tid, False
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                                     ctypes.c_void_p]

    def __enter__(self):
        if self.libc.ptrace(self.SEIZE, self.tid, None, None) != 0:
            return self
        self.libc.ptrace(self.INTERRUPT, self.tid, None, None)
        os.waitpid(self.tid, self.WALL)
        self.ok = True
        return self

    def __exit__(self, *exc):
        if self.ok:
            self.libc.ptrace(self.DETACH, self.tid, None, None)


def thread_of(pid, name):
    """The id of the thread of <pid> named <name> (its comm), or None."""
    for tid in os.listdir('/proc/%d/task' % pid):
        try:
            with open('/proc/%d/task/%s/comm' % (pid, tid)) as f:
                if f.read().strip() == name:
                    return int(tid)
        except OSError:
            pass
    return None


def ws_on_worker(d, n):
    """A raw WebSocket client on /echo that worker <n> accepted (the debug log says which),
    or None after 20 tries."""
    for _ in range(20):
        ws = wsb.open_ws(d.port, '/echo')
        host, port = ws.local.rsplit(':', 1)
        m = d.wait_log(r'client=%s:%s accepted on \S+ by worker (\d+)'
                       % (re.escape(host), port))
        if m is not None and m.group(1) == str(n):
            return ws
        ws.close()
    return None


def test_scrape_does_not_block(d, aport):
    with section('a scrape waiting for a stopped worker does not block worker 0'):
        if wsb.UNDER_VALGRIND:
            note('under valgrind a stopped thread stops them all: not checked')
            return
        tid = thread_of(d.pid, 'wsbridge-w1')
        ws = ws_on_worker(d, 0)
        if tid is None or ws is None:
            check('worker 1 and a client of worker 0 found', False, 'tid %r, ws %r' % (tid, ws))
            return
        mark = d.log_mark()
        with ThreadStop(tid) as stopped:
            if not stopped.ok:
                note('ptrace is not allowed here: not checked')
                ws.close()
                return
            a = wsb.connect(aport)
            a.sendall(b'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n')
            time.sleep(0.05)                # worker 0 has taken the scrape
            ws.send(wsb.OP_BINARY, b'while the scrape waits')
            f = ws.recv_frame(timeout=5)
            pending = not select.select([a], [], [], 0)[0]
            check('echo on worker 0 answered while the scrape still waits for worker 1',
                  f.payload == b'while the scrape waits' and pending,
                  'echo %r, scrape already answered: %s' % (f, not pending))
            r = wsb.read_response(a, timeout=5)
            a.close()
            check('the scrape is answered without the stopped worker: 200',
                  r.status == 200 and b'wsbridge_connections_total' in r.body, r)
            check('log: /metrics without 1 worker that did not answer',
                  d.wait_log(r'warn admin: /metrics without 1 worker that did not answer',
                             since=mark))
        # Worker 1 runs again: its late copy is dropped, and the next scrape has both.
        mark = d.log_mark()
        m = scrape(aport)
        check('after it runs again, a scrape sees every worker',
              m.value('wsbridge_connections_by_state', state='open') is not None and
              d.wait_log(r'/metrics without', timeout=0.5, since=mark) is None)
        ws.close()


def test_stop(d, aport):
    with section('stopping: 503 to a request in progress, then no admin port'):
        ws = wsb.open_ws(d.port, '/echo')      # never answers the close: the stop waits
        s = wsb.connect(aport)
        s.sendall(b'GET /healthz HTTP/1.1\r\n')
        time.sleep(0.2)
        os.kill(d.pid, signal.SIGTERM)
        check('stop began', d.wait_log(r'stopping: closing listeners') is not None)
        s.sendall(b'Host: x\r\n\r\n')
        r = wsb.read_response(s)
        s.close()
        check('/healthz read during the stop: 503 "stopping"',
              r.status == 503 and r.body == b'stopping\n', r)
        check('admin port closed once stopping', not wsb.port_is_listening(aport))
        close, _, _ = ws.read_until_close(timeout=5)
        check('the WebSocket client got 1001',
              close is not None and wsb.parse_close(close.payload)[0] == 1001, close)
        ws.close()
        check('daemon exits 0', d.stop() == 0, 'status %s' % d.exit_status)


def test_bind_failure(wdir):
    with section('admin port in use'):
        busy = socket.socket()
        busy.bind(('127.0.0.1', 0))
        busy.listen(1)
        port = wsb.free_port()
        cfg = os.path.join(wdir, 'busy.yaml')
        with open(cfg, 'w') as f:
            f.write(wsb.config_yaml(port, [{'path': '/echo', 'target': 'echo'}],
                                    admin={'listen': '"127.0.0.1:%d"' % busy.getsockname()[1]}))
        try:
            status, out, err = wsb.run_cli(['-c', cfg])
        finally:
            busy.close()
        check('admin port in use: exit status 1', status == 1, 'status %d, %r' % (status, err))
        check('admin port in use: "bind ...: Address already in use"',
              re.search(r'bind 127\.0\.0\.1:\d+: Address already in use', err), err[-300:])


def main():
    wsb.need_websockets()
    test_parser()
    wdir = wsb.workdir()
    test_bind_failure(wdir)
    pattern = wsb.Pattern(95)
    with targets.Echo() as echo, targets.Silent() as silent, \
            targets.Flood(512 * MiB, pattern, close_after=False) as flood:
        aport = wsb.free_port()
        routes = [
            {'path': '/tcp', 'target': echo.port, 'origins': ['http://127.0.0.1']},
            {'path': '/echo', 'target': 'echo'},
            {'path': '/silent', 'target': silent.port},
            {'path': '/flood', 'target': flood.port},
            {'path': '/refused', 'target': targets.refused_port()},
        ]
        # workers: 2: each worker counts into its own registry and /metrics (on worker 0)
        # must show their sum, whichever worker the kernel gave each connection to.
        d = wsb.Daemon(wdir, routes, name='metrics', handshake_timeout='2s', close_timeout='3s',
                       admin={'listen': '"127.0.0.1:%d"' % aport}, workers=2)
        with d:
            check('log: admin listening on 127.0.0.1:%d' % aport,
                  d.wait_log(r'info admin listening on 127\.0\.0\.1:%d' % aport))
            test_traffic(d, aport)
            test_endpoints(d, aport)
            test_backpressure(d, aport, silent, flood)
            test_conn_bound(d, aport)
            test_scrape_under_load(d, aport)
            test_scrape_does_not_block(d, aport)
            test_stop(d, aport)


if __name__ == '__main__':
    wsb.run(main)
