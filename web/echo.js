/*
 * echo.js - the wsbridge echo test page. Opens a WebSocket to a route on this host,
 * sends text or binary messages, and matches what comes back by bytes: the bridge is a
 * byte stream, so one message may return split over several frames, or several messages
 * in one frame. Also measures round trips and echo throughput. No dependencies.
 */
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const utf8 = new TextEncoder();
  const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

  const LOG_MAX = 400;              // entries kept in the log
  const HEX_SHOWN = 192;            // bytes shown in hex per entry
  const TEXT_SHOWN = 2000;          // characters shown per entry
  const TP_CHUNK = 64 * 1024;       // bytes per message in the throughput test
  const TP_BUFFERED_MAX = 4 << 20;  // pause sending while the socket holds this much
  const TP_STALL_MS = 30000;        // fail the test after this long without progress

  const ui = {
    state: $('state'), route: $('route'), subprotocol: $('subprotocol'), open: $('open'),
    close: $('close'), url: $('url'), protocol: $('protocol'), closeInfo: $('close-info'),
    modeText: $('mode-text'), modeBinary: $('mode-binary'), message: $('message'),
    send: $('send'), hint: $('hint'), latency: $('latency'), latencyMin: $('latency-min'),
    latencyAvg: $('latency-avg'), latencyMax: $('latency-max'), tpSize: $('tp-size'),
    tpRun: $('tp-run'), tpBar: $('tp-bar'), tpResult: $('tp-result'), log: $('log'),
    counts: $('counts'), clear: $('clear'),
  };

  let ws = null;
  let nextId = 1;
  let pending = [];                 // sent messages awaiting their echo, oldest first
  let rx = new Uint8Array(0);       // received bytes not yet matched to a message
  let rxFrames = 0;                 // frames that brought the bytes in rx
  let tp = null;                    // the throughput test while it runs
  const stats = { sent: 0, echoed: 0, rtts: [] };

  /* ---- formatting ------------------------------------------------------------------ */

  function clock() {
    const d = new Date();
    const p = (n, w) => String(n).padStart(w, '0');
    return `${p(d.getHours(), 2)}:${p(d.getMinutes(), 2)}:${p(d.getSeconds(), 2)}.${p(d.getMilliseconds(), 3)}`;
  }

  function size(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KiB`;
    return `${(n / 1048576).toFixed(1)} MiB`;
  }

  function ms(v) {
    return v < 10 ? `${v.toFixed(2)} ms` : v < 100 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`;
  }

  function hexAll(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
  }

  /* Hex for the log: the first HEX_SHOWN bytes. */
  function hex(bytes) {
    let s = hexAll(bytes.subarray(0, HEX_SHOWN));
    if (bytes.length > HEX_SHOWN) s += ` … +${bytes.length - HEX_SHOWN} bytes`;
    return s;
  }

  /* The bytes as text if they are UTF-8 without control characters (tab and newlines
   * allowed), else null. */
  function asText(bytes) {
    let s;
    try {
      s = strictUtf8.decode(bytes);
    } catch (e) {
      return null;
    }
    // eslint-disable-next-line no-control-regex
    return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s) ? null : s;
  }

  function clip(s) {
    return s.length > TEXT_SHOWN ? `${s.slice(0, TEXT_SHOWN)} … +${s.length - TEXT_SHOWN} characters` : s;
  }

  /* Hex digits, optionally separated by spaces, commas or colons, each byte optionally
   * written 0x..; returns the bytes, or null if that is not what <s> holds. */
  function parseHex(s) {
    const digits = s.replace(/0x/gi, '').replace(/[\s,:]/g, '');
    if (digits.length === 0 || digits.length % 2 !== 0 || /[^0-9a-f]/i.test(digits)) return null;
    const out = new Uint8Array(digits.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.substr(i * 2, 2), 16);
    return out;
  }

  function closeMeaning(code) {
    return {
      1000: 'normal closure', 1001: 'going away', 1002: 'protocol error', 1003: 'unsupported data',
      1005: 'no status', 1006: 'abnormal closure', 1007: 'invalid data', 1008: 'policy violation',
      1009: 'message too big', 1011: 'server error', 1015: 'TLS failure',
    }[code] || 'other';
  }

  /* ---- the log ----------------------------------------------------------------------- */

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /* Adds an entry: <dir> 'out', 'in' or 'event'; <meta> a list of strings and
   * {b: text} / {tag: text, cls} parts; <body> {text} or {hex}; <attrs> data-* values. */
  function log(dir, meta, body, attrs) {
    const empty = ui.log.querySelector('li.empty');
    if (empty) empty.remove();
    const li = el('li');
    li.dataset.dir = dir;
    for (const [k, v] of Object.entries(attrs || {})) li.dataset[k] = v;
    li.append(el('span', 'time', clock()), el('span', 'dir', { out: '→', in: '←', event: '•' }[dir]));
    const m = el('span', 'meta');
    for (const part of meta) {
      if (typeof part === 'string') m.append(part);
      else if (part.b !== undefined) m.append(el('b', '', part.b));
      else m.append(el('span', `tag ${part.cls || ''}`, part.tag));
    }
    li.append(m);
    if (body) {
      const b = el('div', `body${body.hex !== undefined ? ' hex' : ''}`);
      b.textContent = body.hex !== undefined ? hex(body.hex) : clip(body.text);
      li.append(b);
      // Binary that is also text reads better with its UTF-8 beside the hex.
      const t = body.hex !== undefined ? asText(body.hex) : null;
      if (t) li.append(el('div', 'body decoded', `utf-8: ${clip(t)}`));
    }
    const follow = ui.log.scrollTop + ui.log.clientHeight >= ui.log.scrollHeight - 8;
    ui.log.append(li);
    while (ui.log.children.length > LOG_MAX) ui.log.firstElementChild.remove();
    if (follow) ui.log.scrollTop = ui.log.scrollHeight;
    return li;
  }

  function logEmpty() {
    ui.log.replaceChildren(el('li', 'empty', 'Nothing yet: open a connection and send a message.'));
  }

  function event(text, level) {
    return log('event', [text], null, level ? { level } : undefined);
  }

  function updateCounts() {
    const waiting = pending.length ? ` · ${pending.length} waiting` : '';
    ui.counts.textContent = `${stats.sent} sent · ${stats.echoed} echoed${waiting}`;
  }

  function updateLatency(rtt) {
    stats.rtts.push(rtt);
    if (stats.rtts.length > 100) stats.rtts.shift();
    const r = stats.rtts;
    ui.latency.textContent = ms(rtt);
    ui.latencyMin.textContent = ms(Math.min(...r));
    ui.latencyMax.textContent = ms(Math.max(...r));
    ui.latencyAvg.textContent = ms(r.reduce((a, b) => a + b, 0) / r.length);
  }

  /* ---- connection -------------------------------------------------------------------- */

  function routeUrl() {
    let route = ui.route.value.trim() || '/echo';
    if (!route.startsWith('/')) route = `/${route}`;
    // Opened from a file: the default listener of etc/wsbridge.yaml.
    const host = location.host || '127.0.0.1:8080';
    return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${host}${route}`;
  }

  function setState(state) {
    ui.state.dataset.state = state;
    ui.state.textContent = state;
    const open = state === 'open';
    ui.open.disabled = state !== 'closed';
    ui.close.disabled = state === 'closed';
    ui.route.disabled = state !== 'closed';
    ui.subprotocol.disabled = state !== 'closed';
    ui.send.disabled = !open || tp !== null;
    ui.tpRun.disabled = !open || tp !== null;
  }

  function connect() {
    if (ws) return;
    const url = routeUrl();
    const protocols = ui.subprotocol.value.split(',').map((s) => s.trim()).filter(Boolean);
    ui.url.textContent = url;
    try {
      ws = new WebSocket(url, protocols);
    } catch (e) {
      event(`cannot open ${url}: ${e.message}`, 'error');
      ws = null;
      return;
    }
    ws.binaryType = 'arraybuffer';
    setState('connecting');
    event(`connecting to ${url}`);
    const sock = ws;
    sock.onopen = () => {
      setState('open');
      ui.protocol.textContent = sock.protocol || 'none';
      log('event', ['open ', { b: url }, sock.protocol ? ` (subprotocol ${sock.protocol})` : '']);
      ui.message.focus();
    };
    sock.onmessage = (ev) => onData(ev.data);
    sock.onerror = () => event('error: the browser gives no detail (see the daemon log)', 'error');
    sock.onclose = (ev) => {
      const why = ev.reason ? ` “${ev.reason}”` : '';
      ui.closeInfo.textContent = `${ev.code} ${closeMeaning(ev.code)}${why}${ev.wasClean ? '' : ' (not clean)'}`;
      ui.closeInfo.dataset.code = String(ev.code);
      log('event', ['closed: ', { b: String(ev.code) }, ` ${closeMeaning(ev.code)}${why}`,
        ev.wasClean ? '' : ' (not clean)'], null, ev.code === 1000 ? undefined : { level: 'error' });
      if (tp) finishThroughput(false, 'the connection closed during the test');
      flushUnmatched('before the close');
      for (const p of pending) markUnanswered(p);
      pending = [];
      updateCounts();
      ws = null;
      ui.protocol.textContent = '–';
      setState('closed');
    };
  }

  function disconnect() {
    if (!ws) return;
    if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) {
      ws.close(1000, 'closed from the page');
      setState('closing');
    }
  }

  /* ---- sending and matching echoes --------------------------------------------------- */

  function currentMode() {
    return ui.modeBinary.checked ? 'binary' : 'text';
  }

  function setHint(text, error) {
    ui.hint.textContent = text;
    ui.hint.classList.toggle('error', Boolean(error));
    ui.message.setAttribute('aria-invalid', error ? 'true' : 'false');
  }

  function modeHint() {
    if (currentMode() === 'text') setHint('Sent as one text frame; its echo comes back as bytes, shown as UTF-8. Enter sends.');
    else setHint('Hex bytes, e.g. 48 65 6c 6c 6f or 48656c6c6f; sent as one binary frame. Enter sends.');
  }

  /* Switching mode keeps the message: text becomes the hex of its UTF-8, and hex that
   * decodes to text becomes that text. */
  function switchMode() {
    const v = ui.message.value;
    if (currentMode() === 'binary' && v) {
      ui.message.value = hexAll(utf8.encode(v));
    } else if (currentMode() === 'text' && v) {
      const b = parseHex(v);
      const t = b && asText(b);
      if (t !== null && t !== undefined) ui.message.value = t;
    }
    ui.message.placeholder = currentMode() === 'text' ? 'Type a message' : '48 65 6c 6c 6f';
    modeHint();
  }

  function send() {
    if (!ws || ws.readyState !== WebSocket.OPEN || tp) return;
    const mode = currentMode();
    const v = ui.message.value;
    let bytes;
    if (mode === 'text') {
      if (v === '') return setHint('Type something first: an empty message brings nothing back through a byte stream.', true);
      bytes = utf8.encode(v);
      ws.send(v);
    } else {
      bytes = parseHex(v);
      if (!bytes) return setHint('Not hex bytes: use pairs of 0-9 a-f, e.g. 00 ff 7f.', true);
      ws.send(bytes);
    }
    modeHint();
    const p = { id: nextId++, mode, bytes, t0: performance.now(), entry: null };
    p.entry = log('out', [{ b: `#${p.id}` }, ` ${mode} · ${size(bytes.length)}`],
      mode === 'text' ? { text: v } : { hex: bytes }, { id: String(p.id), kind: mode });
    pending.push(p);
    stats.sent++;
    updateCounts();
    ui.message.select();
  }

  function concat(a, b) {
    if (a.length === 0) return b;
    const out = new Uint8Array(a.length + b.length);
    out.set(a, 0);
    out.set(b, a.length);
    return out;
  }

  function samePrefix(a, b, n) {
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  function tagEntry(li, text, cls) {
    li.querySelector('.meta').append(el('span', `tag ${cls}`, text));
  }

  function markUnanswered(p) {
    tagEntry(p.entry, 'no echo', 'bad');
    p.entry.dataset.echo = 'none';
  }

  /* Logs received bytes that are no echo of what was sent (a target that talks). */
  function logReceived(bytes, frames, note) {
    const t = asText(bytes);
    log('in', [`${size(bytes.length)} in ${frames} frame${frames === 1 ? '' : 's'}`,
      note ? { tag: note, cls: 'bad' } : ''], t !== null ? { text: t } : { hex: bytes },
      { echo: 'none' });
  }

  function flushUnmatched(note) {
    if (rx.length) logReceived(rx, rxFrames, pending.length ? `not an echo ${note}` : '');
    rx = new Uint8Array(0);
    rxFrames = 0;
  }

  function onData(data) {
    const bytes = typeof data === 'string' ? utf8.encode(data) : new Uint8Array(data);
    if (tp) {
      feedThroughput(bytes);
      return;
    }
    rx = concat(rx, bytes);
    rxFrames++;
    while (pending.length && rx.length) {
      const p = pending[0];
      const n = Math.min(rx.length, p.bytes.length);
      if (!samePrefix(rx, p.bytes, n)) {
        markUnanswered(p);
        pending.shift();
        flushUnmatched(`of #${p.id}`);
        break;
      }
      if (rx.length < p.bytes.length) break;   // the rest of this echo is still coming
      const rtt = performance.now() - p.t0;
      const echoed = rx.subarray(0, p.bytes.length);
      const t = asText(echoed);
      const body = p.mode === 'binary' || t === null ? { hex: echoed } : { text: t };
      log('in', [{ b: `#${p.id}` }, ` echo · ${size(echoed.length)} in ${rxFrames} frame${rxFrames === 1 ? '' : 's'}`,
        { tag: `✓ ${ms(rtt)}`, cls: 'ok' }], body, { echo: 'ok', id: String(p.id) });
      tagEntry(p.entry, 'echoed', 'ok');
      p.entry.dataset.echo = 'ok';
      rx = rx.slice(p.bytes.length);
      rxFrames = rx.length ? 1 : 0;
      pending.shift();
      stats.echoed++;
      updateLatency(rtt);
    }
    if (!pending.length) flushUnmatched('');
    updateCounts();
  }

  /* ---- throughput -------------------------------------------------------------------- */

  /* Pseudo-random bytes (xorshift32): a lost, repeated or reordered chunk shows. */
  function patternBytes(n, seed) {
    const words = new Uint32Array(Math.ceil(n / 4));
    let x = seed >>> 0 || 1;
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13; x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5; x >>>= 0;
      words[i] = x;
    }
    return new Uint8Array(words.buffer, 0, n);
  }

  function setResult(text, status) {
    ui.tpResult.textContent = text;
    ui.tpResult.dataset.status = status;
  }

  async function runThroughput() {
    if (!ws || ws.readyState !== WebSocket.OPEN || tp) return;
    if (pending.length) {
      setResult(`Wait for the ${pending.length} echo${pending.length === 1 ? '' : 'es'} still due first.`, 'fail');
      return;
    }
    const kib = Math.max(1, Math.min(65536, Math.floor(Number(ui.tpSize.value)) || 1024));
    ui.tpSize.value = String(kib);
    const total = kib * 1024;
    flushUnmatched('');
    tp = { data: patternBytes(total, (Math.random() * 0xffffffff) >>> 0), total, sent: 0, got: 0,
      frames: 0, t0: performance.now(), last: performance.now(), done: false, timer: null };
    setState('open');
    ui.tpBar.style.width = '0%';
    setResult(`Sending ${size(total)}…`, 'running');
    event(`throughput test: ${size(total)} in ${Math.ceil(total / TP_CHUNK)} messages of ${size(Math.min(TP_CHUNK, total))}`);
    const run = tp;
    run.timer = setInterval(() => {
      if (tp === run && performance.now() - run.last > TP_STALL_MS) {
        finishThroughput(false, `no progress for ${TP_STALL_MS / 1000} s after ${size(run.got)} back`);
      }
    }, 1000);
    while (tp === run && run.sent < total && ws && ws.readyState === WebSocket.OPEN) {
      if (ws.bufferedAmount > TP_BUFFERED_MAX) {
        await new Promise((r) => setTimeout(r, 2));
        continue;
      }
      const n = Math.min(TP_CHUNK, total - run.sent);
      ws.send(run.data.subarray(run.sent, run.sent + n));
      run.sent += n;
    }
  }

  function feedThroughput(bytes) {
    const run = tp;
    const at = run.got;
    if (at + bytes.length > run.total) {
      finishThroughput(false, `${at + bytes.length - run.total} bytes more came back than were sent`);
      return;
    }
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] !== run.data[at + i]) {
        finishThroughput(false, `byte ${at + i} differs: sent 0x${run.data[at + i].toString(16)}, got 0x${bytes[i].toString(16)}`);
        return;
      }
    }
    run.got += bytes.length;
    run.frames++;
    run.last = performance.now();
    ui.tpBar.style.width = `${(100 * run.got / run.total).toFixed(1)}%`;
    if (run.got === run.total) finishThroughput(true);
  }

  function finishThroughput(ok, why) {
    const run = tp;
    tp = null;
    clearInterval(run.timer);
    const secs = (performance.now() - run.t0) / 1000;
    if (ok) {
      const mbs = run.total / 1e6 / secs;
      setResult(`✓ ${size(run.total)} came back intact in ${ms(secs * 1000)}: ${mbs.toFixed(1)} MB/s (${run.frames} frames)`, 'pass');
      log('event', ['throughput: ', { b: `${mbs.toFixed(1)} MB/s` }, ` · ${size(run.total)} round trip in ${ms(secs * 1000)} · ${run.frames} frames back`,
        { tag: '✓ every byte', cls: 'ok' }], null, { throughput: 'pass' });
    } else {
      setResult(`✗ ${why}`, 'fail');
      log('event', [`throughput test failed: ${why}`], null, { level: 'error', throughput: 'fail' });
    }
    setState(ws && ws.readyState === WebSocket.OPEN ? 'open' : ui.state.dataset.state);
  }

  /* ---- wiring ------------------------------------------------------------------------ */

  const params = new URLSearchParams(location.search);
  if (params.get('route')) ui.route.value = params.get('route');
  ui.url.textContent = routeUrl();
  ui.route.addEventListener('input', () => { ui.url.textContent = routeUrl(); });
  ui.route.addEventListener('keydown', (e) => { if (e.key === 'Enter') connect(); });
  ui.open.addEventListener('click', connect);
  ui.close.addEventListener('click', disconnect);
  ui.send.addEventListener('click', send);
  ui.message.addEventListener('keydown', (e) => { if (e.key === 'Enter') send(); });
  ui.message.addEventListener('input', modeHint);
  ui.modeText.addEventListener('change', switchMode);
  ui.modeBinary.addEventListener('change', switchMode);
  ui.tpRun.addEventListener('click', runThroughput);
  ui.clear.addEventListener('click', logEmpty);
  logEmpty();
  modeHint();
  setState('closed');
})();
