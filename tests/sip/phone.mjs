// SPDX-License-Identifier: LGPL-2.1-or-later
// Serves tests/sip/phone.html (and JsSIP bundled for it) on loopback, and
// opens phones in a playwright browser: each phone is a page of its own
// browser context, with its tone and its console kept for failure reports.
//
//   const server = await servePhone();
//   const alice = await openPhone(browser, server, { name: 'alice', tone: 440 });
//   await alice.page.evaluate(...window.phone...)
//   await server.close();
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { jssipBundle } from './bundle.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

export async function servePhone () {
  const files = {
    '/phone.html': ['text/html; charset=utf-8', fs.readFileSync(path.join(here, 'phone.html'))],
    '/jssip.js': ['text/javascript; charset=utf-8', Buffer.from(jssipBundle())],
  };
  const srv = http.createServer((req, res) => {
    const file = files[req.url.split('?')[0]];
    if (req.method === 'GET' && file) {
      res.writeHead(200, { 'Content-Type': file[0], 'Cache-Control': 'no-store' });
      res.end(file[1]);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const base = `http://127.0.0.1:${srv.address().port}`;
  return {
    url: (query = {}) => `${base}/phone.html?${new URLSearchParams(query)}`,
    close: () => {
      srv.closeAllConnections();
      return new Promise((resolve) => srv.close(resolve));
    },
  };
}

// A phone page: { name, page, context, consoleLines, dump() }. options:
// name (for messages), tone (Hz of its microphone), debug (JsSIP's log in
// the console).
export async function openPhone (browser, server, { name = 'phone', tone = 440, debug = false } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  page.on('crash', () => consoleLines.push('the page crashed'));
  const query = { tone };
  if (debug) query.debug = 1;
  await page.goto(server.url(query));
  await page.waitForFunction(() => window.phone && window.JsSIP, null, { timeout: 10000 });
  return {
    name, page, context, consoleLines,
    // What the page knows, for a failure message.
    async dump () {
      const state = await page.evaluate(() => {
        const p = window.phone;
        return {
          registration: p.registration, registrationEvents: p.registrationEvents,
          calls: p.calls.map((c) => ({ ...c, events: c.events.map((e) => `${e.t} ${e.event}` +
            (e.originator ? ` (${e.originator})` : '') + (e.cause ? ` ${e.cause}` : '')) })),
          errors: p.errors, samples: p.samples.slice(-10),
        };
      }).catch((e) => ({ evaluateError: e.message }));
      return `${name}: ${JSON.stringify(state, null, 1)}\n${name} console:\n${consoleLines.slice(-30).join('\n')}`;
    },
    close: () => context.close(),
  };
}
