// novnc.mjs - drives Debian's noVNC (/usr/share/novnc) in Debian's Chromium through
// playwright-core (no browser download), for 75-novnc.py. For each case, in order, on a
// fresh page: opens PAGE?autoconnect=1&resize=off&path=websockify%3Ftoken%3DTOKEN from
// the bridge, then either
// - waits until noVNC is connected to the desktop named DESKTOP, reads the canvas's four
//   corners (away from the cursor, which noVNC draws on its own canvas) until they show
//   the RGB colour (within a JPEG's tolerance) and checks the canvas has the server's
//   size; with TYPE, focuses the canvas, types that word and waits until the key log of
//   the server (xev -root output) shows it, then checks the other server's log does not;
// - or, with REFUSED, waits for noVNC's "Failed to connect to server" and checks it
//   never connected;
// and saves a screenshot. At the end: no request left 127.0.0.1, no HTTP error answer,
// no console error outside the refused case (a 404 is allowed, with noVNC's console
// error about it, only for a file the novnc package does not ship: package.json).
// Environment: WSB_NOVNC_BASE (http://127.0.0.1:PORT/), WSB_NOVNC_ROOT (the folder the
// bridge serves, default /usr/share/novnc), WSB_NOVNC_CASES (JSON list of
// {name, page, token, desktop, rgb, size, type, keylog, otherKeylog, otherName, refused,
// shot}), WSB_USER_DATA_DIR (fresh profile folder), WSB_CHROMIUM (default
// /usr/bin/chromium). Prints "ok - name" or "FAIL - name: detail" per check; exit 0, 1
// (a check failed) or 99 (the harness broke).

import { existsSync, readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const base = process.env.WSB_NOVNC_BASE;
const root = process.env.WSB_NOVNC_ROOT || '/usr/share/novnc';
const profile = process.env.WSB_USER_DATA_DIR;
const executablePath = process.env.WSB_CHROMIUM || '/usr/bin/chromium';
const STEP_MS = 15000;          // bound of every wait for the page or a server
const COLOUR_TOLERANCE = 8;     // per channel: Tight may send JPEG at noVNC's quality 6

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

function firstLine(e) {
  return e && e.message ? e.message.split('\n')[0] : String(e);
}

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

/* True when <url> names a file the novnc package does not ship (Debian's has no
   package.json, which noVNC fetches for its version): a 404 for it is the right answer. */
function notShipped(url) {
  const path = decodeURIComponent(new URL(url).pathname);
  return !path.split('/').includes('..') && !existsSync(root + path);
}

/* Polls async <fn> every 100 ms until it returns a truthy value or <ms> pass; returns
   the last value. */
async function poll(fn, ms = STEP_MS) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await sleep(100);
  }
}

function fileSize(path) {
  try {
    return readFileSync(path).length;
  } catch {
    return 0;
  }
}

/* The characters of the key presses xev logged in <path> after byte <from>; keysyms
   longer than one character come as <Name>. */
function typedSince(path, from) {
  let text = '';
  try {
    text = readFileSync(path).subarray(from).toString('utf8');
  } catch {
    return '';
  }
  const out = [];
  for (const m of text.matchAll(/KeyPress event[\s\S]*?keysym 0x[0-9a-f]+, ([^)\s]+)\)/g)) {
    out.push(m[1].length === 1 ? m[1] : `<${m[1]}>`);
  }
  return out.join('');
}

/* min and max of each channel over 32x32 squares at the canvas's four corners. */
async function corners(page) {
  return page.evaluate(() => {
    const c = document.querySelector('#noVNC_container canvas');
    if (!c || !c.width || !c.height) return null;
    const ctx = c.getContext('2d');
    const n = 32;
    const at = [[8, 8], [c.width - n - 8, 8], [8, c.height - n - 8], [c.width - n - 8, c.height - n - 8]];
    const regions = at.map(([x, y]) => {
      const d = ctx.getImageData(x, y, n, n).data;
      const min = [255, 255, 255, 255];
      const max = [0, 0, 0, 0];
      for (let i = 0; i < d.length; i += 4) {
        for (let k = 0; k < 4; k++) {
          min[k] = Math.min(min[k], d[i + k]);
          max[k] = Math.max(max[k], d[i + k]);
        }
      }
      return { min, max };
    });
    return { width: c.width, height: c.height, regions };
  });
}

function showsColour(sample, rgb) {
  if (!sample) return false;
  return sample.regions.every(({ min, max }) => min[3] === 255
    && rgb.every((v, k) => Math.abs(min[k] - v) <= COLOUR_TOLERANCE && Math.abs(max[k] - v) <= COLOUR_TOLERANCE));
}

function describe(sample) {
  if (!sample) return 'no canvas';
  return `${sample.width}x${sample.height}, corners ` + sample.regions
    .map(({ min, max }) => `rgba(${min.join(',')})..(${max.join(',')})`).join(' ');
}

function urlFor(c) {
  const path = encodeURIComponent(`websockify?token=${c.token}`);
  return `${base}${c.page}?autoconnect=1&resize=off&path=${path}`;
}

async function connectedCase(page, c) {
  await page.waitForFunction(() => document.documentElement.classList.contains('noVNC_connected'),
    null, { timeout: STEP_MS }).catch(() => {});
  const connected = await page.evaluate(() => document.documentElement.classList.contains('noVNC_connected'));
  const status = await page.textContent('#noVNC_status').catch(() => '');
  if (!check(`${c.name}: noVNC connects`, connected, `not connected after ${STEP_MS} ms; status "${status}"`)) return;
  check(`${c.name}: connected to ${c.desktop} (status "${status}", title "${await page.title()}")`,
    status.includes(c.desktop) && (await page.title()).startsWith(c.desktop), `expected ${c.desktop}`);

  const sample = await poll(async () => {
    const s = await corners(page);
    return showsColour(s, c.rgb) ? s : null;
  });
  const last = sample || await corners(page);
  check(`${c.name}: the canvas shows rgb(${c.rgb.join(',')}) in its four corners`, sample, describe(last));
  check(`${c.name}: the canvas is the server's ${c.size[0]}x${c.size[1]}`,
    last && last.width === c.size[0] && last.height === c.size[1], describe(last));

  if (c.type) {
    const from = fileSize(c.keylog);
    const fromOther = fileSize(c.otherKeylog);
    const canvas = page.locator('#noVNC_container canvas');
    await canvas.focus();
    const focused = await page.evaluate(() => document.activeElement
      && document.activeElement === document.querySelector('#noVNC_container canvas'));
    check(`${c.name}: the noVNC canvas has the keyboard focus`, focused);
    await page.keyboard.type(c.type, { delay: 40 });
    const got = await poll(async () => typedSince(c.keylog, from).includes(c.type));
    check(`${c.name}: typed "${c.type}" reaches ${c.token}'s X server`, got,
      `its xev log shows "${typedSince(c.keylog, from)}" after ${STEP_MS} ms`);
    const other = typedSince(c.otherKeylog, fromOther);
    check(`${c.name}: and not ${c.otherName}'s`, !other.includes(c.type), `${c.otherName}'s log shows "${other}"`);
  }
}

async function refusedCase(page, c) {
  const failedShown = await page.waitForFunction(() => {
    const s = document.getElementById('noVNC_status');
    return s && s.classList.contains('noVNC_status_error') && /Failed to connect/.test(s.textContent);
  }, null, { timeout: STEP_MS }).then(() => true, () => false);
  const status = await page.textContent('#noVNC_status').catch(() => '');
  check(`${c.name}: noVNC shows "Failed to connect to server"`, failedShown, `status "${status}"`);
  const connected = await page.evaluate(() => document.documentElement.classList.contains('noVNC_connected'));
  const everConnected = await page.evaluate(() => window.wsbEverConnected === true);
  check(`${c.name}: no desktop (never connected)`, !everConnected && !connected);
}

async function main() {
  let todo;
  try {
    todo = JSON.parse(process.env.WSB_NOVNC_CASES || '');
  } catch {
    todo = null;
  }
  if (!base || !profile || !Array.isArray(todo)) {
    console.log('ERROR: WSB_NOVNC_BASE, WSB_NOVNC_CASES (JSON list) and WSB_USER_DATA_DIR must be set');
    process.exit(99);
  }
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1024, height: 640 },
    colorScheme: 'light',
    timeout: 60000,
  });
  // Records whether noVNC ever marked the page connected (the refused case's proof).
  await context.addInitScript(() => {
    new MutationObserver(() => {
      if (document.documentElement && document.documentElement.classList.contains('noVNC_connected')) {
        window.wsbEverConnected = true;
      }
    }).observe(document, { attributes: true, attributeFilter: ['class'], subtree: true });
  });
  const origin = new URL(base).origin;
  const foreign = [];
  const badResponses = [];
  const missing = new Set();
  const consoleErrors = [];
  try {
    for (const c of todo) {
      const page = await context.newPage();
      page.on('request', (r) => {
        const u = r.url();
        if (!u.startsWith(origin) && !/^wss?:\/\/127\.0\.0\.1[:/]/.test(u) && !u.startsWith('data:')) foreign.push(u);
      });
      page.on('response', (r) => {
        if (r.status() === 404 && notShipped(r.url())) missing.add(new URL(r.url()).pathname);
        else if (r.status() >= 400) badResponses.push(`${r.status()} ${r.url()}`);
      });
      if (!c.refused) {
        page.on('console', (m) => {
          if (m.type() !== 'error') return;
          const at = m.location() && m.location().url;
          const aboutMissing = (at && /^Failed to load resource: .* 404/.test(m.text()) && notShipped(at))
            || (/^Couldn't fetch package\.json: Error: 404/.test(m.text()) && notShipped(`${origin}/package.json`));
          if (!aboutMissing) consoleErrors.push(`${c.name}: ${m.text()}`);
        });
        page.on('pageerror', (e) => consoleErrors.push(`${c.name}: ${e}`));
      }
      try {
        const resp = await page.goto(urlFor(c), { waitUntil: 'load', timeout: STEP_MS });
        check(`${c.name}: GET ${c.page} answers 200`, resp && resp.status() === 200,
          resp ? String(resp.status()) : 'no response');
        if (c.refused) {
          await refusedCase(page, c);
          await sleep(1000);    // the screenshot after noVNC's panel animation, not during it
        } else {
          await connectedCase(page, c);
        }
        await page.screenshot({ path: c.shot });
      } catch (e) {
        check(c.name, false, `raised ${firstLine(e)}`);
      } finally {
        await page.close();
      }
    }
    check('no request left this host (no CDN)', foreign.length === 0, foreign.join(', '));
    if (missing.size) console.log(`404 for files ${root} does not have (right): ${[...missing].join(' ')}`);
    check('no HTTP error answers (but 404 for a file the package lacks)', badResponses.length === 0,
      badResponses.join(', '));
    check('no console errors (outside the unknown token case)', consoleErrors.length === 0, consoleErrors.join(' | '));
  } finally {
    await context.close();
  }
}

main().then(() => process.exit(failed ? 1 : 0), (e) => {
  console.log(`ERROR: ${e && e.stack ? e.stack : e}`);
  process.exit(99);
});
