// SPDX-License-Identifier: LGPL-2.1-or-later
// JsSIP in Node: registration and OPTIONS without a browser (no media:
// Node has no RTCPeerConnection). Node 20 has no WebSocket of its own that
// JsSIP can use (JsSIP opens global WebSocket), so the "ws" package stands
// in for it when there is none.
//
//   const alice = nodeUA({ url: kam.url, uri: kam.uri('alice'), password });
//   await alice.until('registered');      // or 'registrationFailed', bounded
//   await alice.options('sip:bob@sip.test')   -> 200, 404, 480, ...
//   await alice.stop();
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../browser/package.json'));

export function loadJsSIP () {
  if (typeof globalThis.WebSocket === 'undefined') globalThis.WebSocket = require('ws').WebSocket;
  const JsSIP = require('jssip');
  // Its log goes through "debug": DEBUG=JsSIP:* shows it.
  return JsSIP;
}

// A started JsSIP UA that registers (unless register: false) and records
// its events: { t, event, cause, code } in events.
export function nodeUA ({ url, uri, password, register = true, ...settings }) {
  const JsSIP = loadJsSIP();
  const t0 = Date.now();
  const events = [];
  const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(url)],
    uri, password, register, ...settings,
  });
  const record = (event) => (e) => events.push({
    t: Date.now() - t0, event, cause: (e && e.cause) || null,
    code: e && e.response ? e.response.status_code : null,
  });
  for (const ev of ['connected', 'disconnected', 'registered', 'unregistered', 'registrationFailed'])
    ua.on(ev, record(ev));
  ua.start();

  const self = {
    ua, events, uri,
    count: (event) => events.filter((e) => e.event === event).length,
    // Waits until an event named name has happened n times; returns the
    // last. Rejects after timeoutMs, naming what happened instead.
    async until (name, { n = 1, timeoutMs = 10000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.filter((e) => e.event === name);
        if (found.length >= n) return found[n - 1];
        if (Date.now() > deadline) {
          throw new Error(`${uri}: no "${name}"${n > 1 ? ` #${n}` : ''} within ${timeoutMs} ms; events: ` +
            (events.map((e) => `${e.t} ${e.event}${e.cause ? ' ' + e.cause : ''}`).join(', ') || 'none'));
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    // Sends OPTIONS to target; resolves the final status code (or JsSIP's
    // cause when no reply came).
    options (target, timeoutMs = 10000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${uri}: no reply to OPTIONS ${target} within ${timeoutMs} ms`)), timeoutMs);
        const done = (v) => { clearTimeout(timer); resolve(v); };
        ua.sendOptions(target, null, {
          eventHandlers: {
            succeeded: (e) => done(e.response.status_code),
            failed: (e) => done(e.response ? e.response.status_code : e.cause),
          },
        });
      });
    },
    async unregister (timeoutMs = 10000) {
      const n = self.count('unregistered') + 1;
      ua.unregister();
      return self.until('unregistered', { n, timeoutMs });
    },
    // Stops the UA (it unregisters if registered) and waits, bounded,
    // until its WebSocket is closed.
    async stop (timeoutMs = 5000) {
      const n = self.count('disconnected') + 1;
      const connected = ua.isConnected();
      ua.stop();
      if (connected) await self.until('disconnected', { n, timeoutMs }).catch(() => {});
    },
  };
  return self;
}
