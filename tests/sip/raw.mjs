// SPDX-License-Identifier: LGPL-2.1-or-later
// A bare SIP-over-WebSocket client for what JsSIP will not do (a SHA-256
// challenge, a hand-made request): send a request's text, read replies.
//
//   const sip = await rawSip(kam.url);
//   const reply = await sip.request(registerRequest({ ... }));
//   reply.status, reply.headers['www-authenticate'], digestParams(...)
//   sip.close();
import crypto from 'node:crypto';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../browser/package.json'));

const token = (n = 10) => crypto.randomBytes(n).toString('hex');

// Status line, headers (lower-case names; the last one of a name wins,
// all of them in all[name]) and body of a SIP message.
export function parseMessage (text) {
  const [head, ...rest] = text.split('\r\n\r\n');
  const [first, ...lines] = head.split('\r\n');
  const headers = {};
  const all = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    headers[name] = value;
    (all[name] ||= []).push(value);
  }
  const m = first.match(/^SIP\/2\.0 (\d{3}) (.*)$/);
  return { first, status: m ? Number(m[1]) : null, reason: m ? m[2] : null, headers, all, body: rest.join('\r\n\r\n') };
}

// The parameters of a Digest challenge: { realm, nonce, algorithm, qop, ... }.
export function digestParams (header) {
  const params = {};
  const text = header.replace(/^Digest\s+/i, '');
  for (const m of text.matchAll(/([A-Za-z-]+)=(?:"([^"]*)"|([^,\s]*))/g))
    params[m[1].toLowerCase()] = m[2] ?? m[3];
  return params;
}

// An Authorization header answering challenge (RFC 7616 / 8760 digest,
// qop=auth) for method and uri.
export function digestAuthorization (challenge, { user, password, method, uri }) {
  const algorithm = challenge.algorithm || 'MD5';
  const hashName = { 'MD5': 'md5', 'SHA-256': 'sha256' }[algorithm.toUpperCase()];
  if (!hashName) throw new Error(`digest algorithm ${algorithm} is not supported here`);
  const h = (s) => crypto.createHash(hashName).update(s).digest('hex');
  const cnonce = token(8);
  const nc = '00000001';
  const ha1 = h(`${user}:${challenge.realm}:${password}`);
  const ha2 = h(`${method}:${uri}`);
  const response = h(`${ha1}:${challenge.nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `Digest username="${user}", realm="${challenge.realm}", nonce="${challenge.nonce}", ` +
    `uri="${uri}", response="${response}", algorithm=${algorithm}, qop=auth, nc=${nc}, ` +
    `cnonce="${cnonce}"` + (challenge.opaque !== undefined ? `, opaque="${challenge.opaque}"` : '');
}

// A REGISTER as a WebSocket client sends it (RFC 7118: a made-up .invalid
// host in Via and Contact). Same callId and a higher cseq for a retry.
export function registerRequest ({ user, domain, callId, cseq = 1, expires = 60, authorization, instance }) {
  const host = `${token(5)}.invalid`;
  const lines = [
    `REGISTER sip:${domain} SIP/2.0`,
    `Via: SIP/2.0/WS ${host};branch=z9hG4bK${token()}`,
    'Max-Forwards: 70',
    `To: <sip:${user}@${domain}>`,
    `From: <sip:${user}@${domain}>;tag=${token(6)}`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq} REGISTER`,
    `Contact: <sip:${token(4)}@${host};transport=ws>;expires=${expires}` +
      (instance ? `;+sip.instance="<urn:uuid:${instance}>"` : ''),
    'Supported: path, outbound',
    'User-Agent: tests/sip raw client',
  ];
  if (authorization) lines.push(`Authorization: ${authorization}`);
  lines.push('Content-Length: 0', '', '');
  return lines.join('\r\n');
}

export const newCallId = () => token(12);

// Opens a WebSocket with subprotocol "sip". request(text) sends a request
// and resolves its final reply (bounded); replies holds everything read.
export function rawSip (url, { timeoutMs = 10000 } = {}) {
  const { WebSocket } = require('ws');
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'sip', { handshakeTimeout: timeoutMs });
    const replies = [];
    const waiters = [];
    ws.on('message', (data) => {
      const msg = parseMessage(data.toString('utf8'));
      replies.push(msg);
      for (const w of [...waiters]) {
        if (w.match(msg)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(msg);
        }
      }
    });
    ws.on('error', (e) => reject(new Error(`WebSocket to ${url}: ${e.message}`)));
    ws.on('open', () => {
      if (ws.protocol !== 'sip') return reject(new Error(`${url} did not accept subprotocol "sip"`));
      resolve({
        replies,
        request (text) {
          const req = parseMessage(text);
          const cseq = req.headers.cseq;
          const callId = req.headers['call-id'];
          return new Promise((res, rej) => {
            const timer = setTimeout(() => {
              waiters.splice(waiters.indexOf(w), 1);
              rej(new Error(`no final reply to ${cseq} (Call-ID ${callId}) within ${timeoutMs} ms`));
            }, timeoutMs);
            const w = {
              match: (m) => m.status >= 200 && m.headers['call-id'] === callId && m.headers.cseq === cseq,
              resolve: (m) => { clearTimeout(timer); res(m); },
            };
            waiters.push(w);
            ws.send(text);
          });
        },
        close: () => ws.close(),
      });
    });
  });
}
