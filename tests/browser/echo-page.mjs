// echo-page.mjs - drives the echo test page in Debian's Chromium through playwright-core
// (no browser download): loads it from wsbridge's web root, opens /echo, sends text,
// Unicode and binary messages (one large enough to come back in several frames), checks
// that the log shows each echo, runs the throughput button, closes with 1000, then does
// the same through /tcp (a TCP echo server) and saves a screenshot. Then, when
// WSB_PAGE_URL_HTTPS is set, loads the page from wsbridge's TLS listener, opens /echo over
// wss://, echoes text and binary, runs the throughput test, closes with 1000 and saves a
// second screenshot (the context accepts the self-signed test certificate).
// Environment: WSB_PAGE_URL (http://127.0.0.1:PORT/), WSB_SCREENSHOT (PNG path),
// WSB_PAGE_URL_HTTPS (https://127.0.0.1:TLSPORT/), WSB_SCREENSHOT_HTTPS (PNG path),
// WSB_USER_DATA_DIR (fresh profile folder), WSB_CHROMIUM (default /usr/bin/chromium).
// Prints "ok - name" or "FAIL - name: detail" per check; exit 0, 1 (a check failed) or
// 99 (the harness broke).

import { chromium } from 'playwright-core';

const pageUrl = process.env.WSB_PAGE_URL;
const shot = process.env.WSB_SCREENSHOT;
const httpsUrl = process.env.WSB_PAGE_URL_HTTPS;
const httpsShot = process.env.WSB_SCREENSHOT_HTTPS;
const profile = process.env.WSB_USER_DATA_DIR;
const executablePath = process.env.WSB_CHROMIUM || '/usr/bin/chromium';
const STEP_MS = 20000;          // bound of every wait for the page
const THROUGHPUT_MS = 90000;    // bound of one throughput run

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

/* Runs <fn>; an exception is one failed check named <name>. */
async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    check(name, false, `raised ${e && e.message ? e.message.split('\n')[0] : e}`);
  }
}

function hexOf(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

async function sendMessage(page, mode, value) {
  await page.click(mode === 'text' ? 'label[for=mode-text]' : 'label[for=mode-binary]');
  await page.fill('#message', value);
  await page.click('#send');
}

/* Waits until every sent entry in the log is marked echoed; returns [sent, echoed]. */
async function waitEchoes(page) {
  await page.waitForFunction(() => {
    const out = document.querySelectorAll('#log li[data-dir=out]');
    return out.length > 0 && Array.from(out).every((li) => li.dataset.echo);
  }, null, { timeout: STEP_MS });
  return page.evaluate(() => [
    document.querySelectorAll('#log li[data-dir=out]').length,
    document.querySelectorAll('#log li[data-dir=out][data-echo=ok]').length,
  ]);
}

/* The body text of the echo entry for message #<id>. */
function echoBody(page, id) {
  return page.$eval(`#log li[data-dir=in][data-echo=ok][data-id="${id}"] .body`, (e) => e.textContent);
}

async function lastSentId(page) {
  return page.evaluate(() => {
    const all = document.querySelectorAll('#log li[data-dir=out]');
    return all.length ? all[all.length - 1].dataset.id : null;
  });
}

async function openRoute(page, route, label, base = pageUrl) {
  await page.fill('#route', route);
  const url = await page.textContent('#url');
  check(`${label}: the URL shown is this host's ${route}`, url === `${base.replace(/^http/, 'ws').replace(/\/$/, '')}${route}`, `shows ${url}`);
  await page.click('#open');
  await page.waitForSelector('#state[data-state=open]', { timeout: STEP_MS });
  check(`${label}: Open connects (state shows open)`, (await page.textContent('#state')) === 'open');
}

async function exercise(page, route, label, throughputKiB, base = pageUrl) {
  await openRoute(page, route, label, base);

  const texts = ['hello wsbridge', 'héllo wörld ✓ 👋 — UTF-8 survives the byte stream'];
  for (const t of texts) {
    await sendMessage(page, 'text', t);
    const id = await lastSentId(page);
    await waitEchoes(page);
    check(`${label}: text echo of "${t.slice(0, 20)}" shown decoded as UTF-8`, (await echoBody(page, id)) === t,
      `body ${await echoBody(page, id).catch(() => 'missing')}`);
  }

  const small = [0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff];
  await sendMessage(page, 'binary', hexOf(small));
  let id = await lastSentId(page);
  await waitEchoes(page);
  check(`${label}: binary echo shown in hex`, (await echoBody(page, id)) === hexOf(small),
    `body ${await echoBody(page, id).catch(() => 'missing')}`);

  // 96 KiB in one message: more than one read's worth, so it may come back split.
  const big = Array.from({ length: 96 * 1024 }, (_, i) => (i * 31 + (i >> 9)) & 0xff);
  await sendMessage(page, 'binary', hexOf(big));
  id = await lastSentId(page);
  await waitEchoes(page);
  const meta = await page.$eval(`#log li[data-dir=in][data-echo=ok][data-id="${id}"] .meta`, (e) => e.textContent)
    .catch(() => 'missing');
  check(`${label}: a 96 KiB binary message is matched whole (${meta.replace(/\s+/g, ' ').trim()})`,
    /96\.0 KiB|96 KiB/.test(meta), `meta ${meta}`);

  const latency = await page.textContent('#latency');
  check(`${label}: round-trip readout shows milliseconds`, /^\d+(\.\d+)? ms$/.test(latency), `shows ${latency}`);

  await page.fill('#tp-size', String(throughputKiB));
  await page.click('#tp-run');
  await page.waitForSelector('#tp-result[data-status=pass], #tp-result[data-status=fail]', { timeout: THROUGHPUT_MS });
  const result = await page.textContent('#tp-result');
  const status = await page.getAttribute('#tp-result', 'data-status');
  check(`${label}: throughput test of ${throughputKiB} KiB: every byte back (${result})`,
    status === 'pass' && /MB\/s/.test(result), result);

  const [sent, echoed] = await waitEchoes(page);
  check(`${label}: the log shows an echo for every message sent (${echoed}/${sent})`, sent === echoed && sent > 0);
}

async function main() {
  if (!pageUrl || !shot || !profile || (httpsUrl && !httpsShot)) {
    console.log('ERROR: WSB_PAGE_URL, WSB_SCREENSHOT and WSB_USER_DATA_DIR (and with '
      + 'WSB_PAGE_URL_HTTPS, WSB_SCREENSHOT_HTTPS) must be set');
    process.exit(99);
  }
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 860 },
    colorScheme: 'light',
    ignoreHTTPSErrors: true,    // the https pass's certificate is self-signed, made for this run
    timeout: 60000,
  });
  const origins = [new URL(pageUrl).origin];
  if (httpsUrl) origins.push(new URL(httpsUrl).origin);
  const foreign = [];
  const badResponses = [];
  const consoleErrors = [];
  try {
    const page = context.pages()[0] || await context.newPage();
    page.on('request', (r) => {
      const u = r.url();
      if (!origins.some((o) => u.startsWith(o)) && !/^wss?:\/\/127\.0\.0\.1[:/]/.test(u) && !u.startsWith('data:')) foreign.push(u);
    });
    page.on('response', (r) => { if (r.status() >= 400) badResponses.push(`${r.status()} ${r.url()}`); });
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));

    await step('page loads', async () => {
      const resp = await page.goto(pageUrl, { waitUntil: 'load', timeout: STEP_MS });
      check('GET / answers 200 with the page', resp && resp.status() === 200, resp ? String(resp.status()) : 'no response');
      check('the title names wsbridge', /wsbridge/.test(await page.title()), await page.title());
      check('echo.css applied (styled header)', await page.$eval('.top', (e) => getComputedStyle(e).display === 'flex'));
      check('the route defaults to /echo', (await page.inputValue('#route')) === '/echo');
      check('state starts closed', (await page.getAttribute('#state', 'data-state')) === 'closed');
    });
    await step('/echo', () => exercise(page, '/echo', '/echo', 8192));
    await step('/echo close', async () => {
      await page.click('#close');
      await page.waitForSelector('#state[data-state=closed]', { timeout: STEP_MS });
      const info = await page.textContent('#close-info');
      check(`/echo: Close ends with code 1000 (shows "${info}")`,
        (await page.getAttribute('#close-info', 'data-code')) === '1000', info);
    });
    await step('/tcp', () => exercise(page, '/tcp', '/tcp', 16384));
    await step('reload keeps working (304s or 200s, no errors)', async () => {
      // The screenshot is taken on a fresh page that shows one full session.
      await page.reload({ waitUntil: 'load', timeout: STEP_MS });
      await openRoute(page, '/echo', 'after reload');
      await sendMessage(page, 'text', 'Hello from the echo page ✓');
      await sendMessage(page, 'text', 'The bridge is a byte stream: echoes are matched by bytes.');
      await sendMessage(page, 'binary', '00 01 02 03 10 20 7f 80 fe ff');
      await sendMessage(page, 'binary', hexOf(Array.from(utf8('binary that happens to be UTF-8 ✓'))));
      await waitEchoes(page);
      await page.fill('#tp-size', '16384');
      await page.click('#tp-run');
      await page.waitForSelector('#tp-result[data-status=pass], #tp-result[data-status=fail]', { timeout: THROUGHPUT_MS });
      check('after reload: throughput passes', (await page.getAttribute('#tp-result', 'data-status')) === 'pass',
        await page.textContent('#tp-result'));
      await sendMessage(page, 'text', 'ping after the throughput test');
      const [sent, echoed] = await waitEchoes(page);
      check(`after reload: every message echoed (${echoed}/${sent})`, sent === echoed);
      await page.screenshot({ path: shot, fullPage: true });
      check(`screenshot saved to ${shot}`, true);
      await page.click('#close');
      await page.waitForSelector('#state[data-state=closed]', { timeout: STEP_MS });
    });
    if (httpsUrl) await httpsPass(page);
    check('no request left this host (no CDN)', foreign.length === 0, foreign.join(', '));
    check('no HTTP error answers', badResponses.length === 0, badResponses.join(', '));
    check('no console errors', consoleErrors.length === 0, consoleErrors.join(' | '));
  } finally {
    await context.close();
  }
}

/* The page again, from the TLS listener: https load, /echo over wss://, text and binary
   echoes, throughput, close 1000, screenshot. */
async function httpsPass(page) {
  const label = 'https /echo';
  let loaded = false;
  await step('https: page loads', async () => {
    const resp = await page.goto(httpsUrl, { waitUntil: 'load', timeout: STEP_MS });
    loaded = check('https: GET / answers 200 with the page', resp && resp.status() === 200,
      resp ? String(resp.status()) : 'no response');
    check('https: the page is a secure context (location.protocol https:)',
      await page.evaluate(() => location.protocol === 'https:' && window.isSecureContext));
    check('https: echo.css applied (styled header)', await page.$eval('.top', (e) => getComputedStyle(e).display === 'flex'));
    check('https: state starts closed', (await page.getAttribute('#state', 'data-state')) === 'closed');
  });
  if (!loaded) return;
  await step(label, async () => {
    await page.fill('#route', '/echo');
    check(`${label}: the page derives a wss:// URL`, /^wss:\/\//.test(await page.textContent('#url')),
      await page.textContent('#url'));
    await exercise(page, '/echo', label, 8192, httpsUrl);
    const opened = await page.evaluate(() => Array.from(document.querySelectorAll('#log li'))
      .some((li) => /open\s+wss:\/\/127\.0\.0\.1:\d+\/echo/.test(li.textContent)));
    check(`${label}: the log shows the wss:// connection opened`, opened);
  });
  await step(`${label} close`, async () => {
    await page.click('#close');
    await page.waitForSelector('#state[data-state=closed]', { timeout: STEP_MS });
    const info = await page.textContent('#close-info');
    check(`${label}: Close ends with code 1000 (shows "${info}")`,
      (await page.getAttribute('#close-info', 'data-code')) === '1000', info);
    await page.screenshot({ path: httpsShot, fullPage: true });
    check(`https screenshot saved to ${httpsShot}`, true);
  });
}

function utf8(s) {
  return new TextEncoder().encode(s);
}

main().then(() => process.exit(failed ? 1 : 0), (e) => {
  console.log(`ERROR: ${e && e.stack ? e.stack : e}`);
  process.exit(99);
});
