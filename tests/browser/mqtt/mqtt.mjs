// mqtt.mjs - MQTT.js (npm "mqtt", which offers the WebSocket subprotocol "mqtt") through
// wsbridge to a mosquitto broker, on a route that names no subprotocol: in Node (its
// WebSocket, the "ws" package, aborts a 101 that answers none of its offers) and in
// Debian's Chromium through playwright-core (which refuses such a 101 too). Each client
// subscribes, publishes and gets its own message back; then each gets the other's, so
// both directions go through the broker. Last, a route with "subprotocols: none" must
// make MQTT.js in Node fail, as every route did before the first offer was answered.
// Environment: WSB_MQTT_URL (ws://127.0.0.1:PORT/mqtt), WSB_MQTT_NONE_URL (the same
// broker behind "subprotocols: none"), WSB_PAGE_URL (the page from wsbridge's web root),
// WSB_USER_DATA_DIR (a fresh profile folder), WSB_CHROMIUM (default /usr/bin/chromium).
// Prints "ok - name" or "FAIL - name: detail" per check; exit 0, 1 (a check failed) or
// 99 (the harness broke).

import mqtt from 'mqtt';
import { chromium } from 'playwright-core';

const url = process.env.WSB_MQTT_URL;
const noneUrl = process.env.WSB_MQTT_NONE_URL;
const pageUrl = process.env.WSB_PAGE_URL;
const profile = process.env.WSB_USER_DATA_DIR;
const executablePath = process.env.WSB_CHROMIUM || '/usr/bin/chromium';
const STEP_MS = 15000; // bound of every wait

let failed = 0;
function check(name, cond, detail = '') {
  if (cond) {
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`FAIL - ${name}: ${detail}`);
  }
  return Boolean(cond);
}

function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/* A connected MQTT.js client in Node; rejects on the first error. */
function nodeConnect(u, id) {
  return within(STEP_MS, `connect ${u}`, new Promise((resolve, reject) => {
    const c = mqtt.connect(u, { clientId: id, reconnectPeriod: 0, connectTimeout: STEP_MS });
    c.once('connect', () => resolve(c));
    c.once('error', (e) => { c.end(true); reject(e); });
    c.once('close', () => reject(new Error('closed before CONNACK')));
  }));
}

/* The next message on <topic> for client <c>. */
function nextMessage(c, topic) {
  return within(STEP_MS, `message on ${topic}`, new Promise((resolve) => {
    c.on('message', function on(t, payload) {
      if (t === topic) {
        c.removeListener('message', on);
        resolve(payload.toString('utf8'));
      }
    });
  }));
}

async function subscribe(c, topic) {
  await within(STEP_MS, `subscribe ${topic}`, c.subscribeAsync(topic, { qos: 1 }));
}

async function nodePart() {
  const c = await nodeConnect(url, 'wsbridge-node');
  check('Node: MQTT.js connects through a route without subprotocols (CONNACK)', c.connected);
  const topic = 'wsbridge/test/node';
  await subscribe(c, topic);
  const got = nextMessage(c, topic);
  await c.publishAsync(topic, 'hello from node ✓', { qos: 1 });
  const text = await got;
  check('Node: publish and subscribe round trip through wsbridge and mosquitto',
    text === 'hello from node ✓', `got ${text}`);
  return c;
}

async function browserPart(nodeClient) {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 60000,
  });
  const consoleErrors = [];
  try {
    const page = context.pages()[0] || await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    const resp = await page.goto(pageUrl, { waitUntil: 'load', timeout: STEP_MS });
    check('Chromium: the page and mqtt.min.js load from wsbridge\'s web root',
      resp && resp.status() === 200 && await page.evaluate(() => typeof mqtt === 'object'),
      resp ? String(resp.status()) : 'no response');
    const wsUrl = url;
    const result = await page.evaluate(async ({ wsUrl, stepMs }) => {
      const out = { protocol: null, echo: null, error: null };
      const client = mqtt.connect(wsUrl, { clientId: 'wsbridge-browser', reconnectPeriod: 0,
        connectTimeout: stepMs });
      window.wsbClient = client;
      const wait = (what, p) => Promise.race([p, new Promise((_, rej) =>
        setTimeout(() => rej(new Error(`${what}: timed out`)), stepMs))]);
      try {
        await wait('connect', new Promise((resolve, reject) => {
          client.once('connect', resolve);
          client.once('error', reject);
          client.once('close', () => reject(new Error('closed before CONNACK')));
        }));
        out.protocol = client.stream && client.stream.socket ? client.stream.socket.protocol : null;
        const topic = 'wsbridge/test/browser';
        await wait('subscribe', client.subscribeAsync([topic, 'wsbridge/test/to-browser'], { qos: 1 }));
        const got = new Promise((resolve) => client.on('message', (t, p) => {
          if (t === topic) resolve(new TextDecoder().decode(p));
        }));
        await wait('publish', client.publishAsync(topic, 'hello from chromium ✓', { qos: 1 }));
        out.echo = await wait('message', got);
        window.wsbToBrowser = new Promise((resolve) => client.on('message', (t, p) => {
          if (t === 'wsbridge/test/to-browser') resolve(new TextDecoder().decode(p));
        }));
      } catch (e) {
        out.error = String(e && e.message ? e.message : e);
      }
      return out;
    }, { wsUrl, stepMs: STEP_MS });
    check('Chromium: MQTT.js connects through a route without subprotocols',
      result.error === null, result.error || '');
    if (result.protocol !== null) {
      check('Chromium: the WebSocket\'s negotiated subprotocol is mqtt', result.protocol === 'mqtt',
        `got ${result.protocol}`);
    }
    check('Chromium: publish and subscribe round trip', result.echo === 'hello from chromium ✓',
      `got ${result.echo}`);
    if (result.error === null && nodeClient) {
      // Node to the browser, and the browser to Node, through the broker.
      const fromBrowser = nextMessage(nodeClient, 'wsbridge/test/from-browser');
      await subscribe(nodeClient, 'wsbridge/test/from-browser');
      await nodeClient.publishAsync('wsbridge/test/to-browser', 'node -> chromium', { qos: 1 });
      const toBrowser = await page.evaluate(() => window.wsbToBrowser);
      check('Node -> Chromium through the broker', toBrowser === 'node -> chromium', `got ${toBrowser}`);
      await page.evaluate(() => window.wsbClient.publishAsync('wsbridge/test/from-browser',
        'chromium -> node', { qos: 1 }));
      const text = await fromBrowser;
      check('Chromium -> Node through the broker', text === 'chromium -> node', `got ${text}`);
      await page.evaluate(() => window.wsbClient.endAsync());
    }
    check('Chromium: no console errors', consoleErrors.length === 0, consoleErrors.join(' | '));
  } finally {
    await context.close();
  }
}

async function nonePart() {
  const errors = [];
  const outcome = await within(STEP_MS, 'connect on the "none" route', new Promise((resolve) => {
    const c = mqtt.connect(noneUrl, { clientId: 'wsbridge-none', reconnectPeriod: 0,
      connectTimeout: STEP_MS });
    c.on('error', (e) => errors.push(String(e && e.message ? e.message : e)));
    c.once('connect', () => { c.end(true); resolve('connected'); });
    c.once('close', () => setTimeout(() => resolve('closed'), 100));
  })).catch((e) => String(e.message));
  check('Node: on a route with "subprotocols: none" MQTT.js does not connect',
    outcome === 'closed', `${outcome}; errors: ${errors.join(' | ')}`);
  console.log(`none route: ${outcome}; errors: ${errors.join(' | ') || 'none reported'}`);
}

async function main() {
  if (!url || !noneUrl || !pageUrl || !profile) {
    console.log('ERROR: WSB_MQTT_URL, WSB_MQTT_NONE_URL, WSB_PAGE_URL and WSB_USER_DATA_DIR '
      + 'must be set');
    process.exit(99);
  }
  let nodeClient = null;
  try {
    nodeClient = await nodePart();
  } catch (e) {
    check('Node: MQTT.js through wsbridge', false, String(e && e.message ? e.message : e));
  }
  try {
    await browserPart(nodeClient);
  } catch (e) {
    check('Chromium: MQTT.js through wsbridge', false, String(e && e.message ? e.message : e).split('\n')[0]);
  }
  if (nodeClient) await nodeClient.endAsync();
  await nonePart();
}

main().then(() => process.exit(failed ? 1 : 0), (e) => {
  console.log(`ERROR: ${e && e.stack ? e.stack : e}`);
  process.exit(99);
});
