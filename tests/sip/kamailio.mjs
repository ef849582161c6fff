// SPDX-License-Identifier: LGPL-2.1-or-later
// One Kamailio (tests/sip/kamailio.cfg) for a test: a SIP registrar and
// proxy for WebSocket clients on a free loopback port, with a directory of
// its own for its control socket and log. See tests/sip/README.md.
//
//   const kam = await startKamailio();            // or { sha256: true }
//   kam.url            ws://127.0.0.1:<port>
//   kam.wssUrl         wss://127.0.0.1:<port> with { tls: true }: a
//                      certificate for 127.0.0.1 issued by a CA made for
//                      the instance, whose certificate is kam.caFile (PEM)
//   kam.domain         'sip.test'
//   kam.users          { alice: 'alice-secret', bob: ..., carol: ... }
//   kam.uri('alice')   'sip:alice@sip.test'
//   await kam.locations()   { alice: [{ address, instance, expires, ... }] }
//   kam.requests({ method: 'REGISTER' })   requests Kamailio received so far
//   await kam.stop()
//
// Environment: KAMAILIO (the program, default /usr/sbin/kamailio), KAMCMD
// (default /usr/sbin/kamcmd), KAMAILIO_KEEP=1 keeps each instance's
// directory (configuration defines, log) after stop.
import { spawn, execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../browser/package.json'));

export const configFile = path.join(here, 'kamailio.cfg');
export const kamailioPath = process.env.KAMAILIO || '/usr/sbin/kamailio';
export const kamcmdPath = process.env.KAMCMD || '/usr/sbin/kamcmd';

export const defaultUsers = Object.freeze({
  alice: 'alice-secret',
  bob: 'bob-secret',
  carol: 'carol-secret',
});

// Every instance still running, killed whatever way the process ends.
const running = new Set();

// The processes of one instance: its main process and the workers it
// forked, found by the instance's own directory on their command line (the
// workers inherit it, and keep it when the main process dies without
// taking them along). Nothing else is ever signalled.
function instancePids (dir) {
  const marker = `\0-Y\0${dir}\0`;
  const found = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'latin1').includes(marker)) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function killAll (dir, signal) {
  for (const p of instancePids(dir)) {
    try { process.kill(p, signal); } catch { /* already gone */ }
  }
}

process.on('exit', () => {
  for (const inst of running) killAll(inst.dir, 'SIGKILL');
});

function freePort () {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function isExecutable (file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// Opens a WebSocket with subprotocol "sip" and closes it again: resolves
// true when the server accepted and echoed the subprotocol.
function probeWebSocket (url, timeoutMs, tlsOptions = {}) {
  const { WebSocket } = require('ws');
  return new Promise((resolve) => {
    let done = false;
    const ws = new WebSocket(url, 'sip', { handshakeTimeout: timeoutMs, ...tlsOptions });
    const finish = (ok) => {
      if (done) return;
      done = true;
      try { ws.terminate(); } catch { /* closed */ }
      resolve(ok);
    };
    ws.on('open', () => finish(ws.protocol === 'sip'));
    ws.on('error', () => finish(false));
    ws.on('close', () => finish(false));
  });
}

// kamcmd prints RPC results as nested blocks:
//   {
//     Key: value
//     Key: {
//       ...
//     }
//   }
// Parsed into plain objects; a key that repeats in a block (AoRs: Info,
// Contacts: Contact) becomes an array. Returns the top-level values.
export function parseKamcmd (text) {
  const top = [];
  const stack = [];
  const put = (obj, key, value) => {
    if (!(key in obj)) obj[key] = value;
    else if (Array.isArray(obj[key]) && obj[key].repeated) obj[key].push(value);
    else {
      const list = [obj[key], value];
      list.repeated = true;
      obj[key] = list;
    }
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (line === '}') {
      stack.pop();
      continue;
    }
    const open = line === '{' ? [null] : line.match(/^(.+?):\s*\{$/);
    if (open) {
      const block = {};
      if (stack.length === 0) top.push(block);
      else if (open[0] === null) put(stack.at(-1), '', block);
      else put(stack.at(-1), open[1], block);
      stack.push(block);
      continue;
    }
    const kv = line.match(/^([^:]+):\s?(.*)$/);
    if (kv && stack.length) put(stack.at(-1), kv[1], kv[2]);
    else top.push(line);
  }
  return top;
}

const asList = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const notSet = (v) => (v === undefined || v === '[not set]' ? null : v);

// One contact of "ul.dump", with the names a test uses.
function contactOf (c) {
  const num = (v) => (notSet(v) === null ? null : Number(v));
  return {
    address: c.Address,
    expires: num(c.Expires),
    instance: notSet(c.Instance),
    regId: num(c['Reg-Id']),
    received: notSet(c.Received),
    path: notSet(c.Path),
    userAgent: notSet(c['User-Agent']),
    callId: c['Call-ID'],
    cseq: num(c.CSeq),
    socket: c.Socket,
    tcpconnId: num(c['Tcpconn-Id']),
    q: num(c.Q),
    ruid: c.Ruid,
  };
}

// A request line as logged by kamailio.cfg ("sip-in ...").
function parseRequestLine (line) {
  const m = line.match(/sip-in method=(\S+) ruri=(\S+) from=(\S+) to=(\S+) call-id=(\S+) cseq=(\S+) src=(\S+)/);
  if (!m) return null;
  return { method: m[1], ruri: m[2], from: m[3], to: m[4], callId: m[5], cseq: Number(m[6]), src: m[7] };
}

function parseAuthLine (line) {
  const m = line.match(/sip-auth challenge method=(\S+) user=(\S+) code=(-?\d+) call-id=(\S+)/);
  if (!m) return null;
  return { method: m[1], user: m[2] === '<null>' ? null : m[2], code: Number(m[3]), callId: m[4] };
}

function matches (entry, filter) {
  if (typeof filter === 'function') return filter(entry);
  return Object.entries(filter || {}).every(([k, v]) => entry[k] === v);
}

// Starts one instance and waits until it accepts WebSocket upgrades with
// subprotocol "sip" and answers on its control socket.
//   users        { name: password }; names and passwords without ; = or "
//   domain       the SIP domain and digest realm (default 'sip.test')
//   sha256       challenge with algorithm=SHA-256 instead of MD5
//   minExpires   shortest registration granted (s; default 10)
//   maxExpires   longest registration granted (s; default 3600)
//   dispatcher   [users]: calls to "agents" go round robin to these users
//                (Kamailio's dispatcher; each a bridge process)
//   startTimeoutMs  bound on the start (default 20 s: a loaded machine)
export async function startKamailio (opts = {}) {
  const users = { ...(opts.users || defaultUsers) };
  const domain = opts.domain || 'sip.test';
  const startTimeoutMs = opts.startTimeoutMs ?? 20000;
  for (const [name, password] of Object.entries(users)) {
    if (!/^[A-Za-z0-9_.!~*'()-]+$/.test(name) || !password || /[;="\s\\]/.test(password))
      throw new Error(`kamailio: unusable user "${name}" or password (no ; = " \\ or spaces; not empty)`);
  }
  if (!/^[A-Za-z0-9.-]+$/.test(domain)) throw new Error(`kamailio: unusable domain "${domain}"`);
  for (const key of ['minExpires', 'maxExpires']) {
    if (opts[key] !== undefined && !(Number.isInteger(opts[key]) && opts[key] >= 0))
      throw new Error(`kamailio: ${key} must be a whole number of seconds (${opts[key]})`);
  }
  for (const program of [kamailioPath, kamcmdPath]) {
    if (!isExecutable(program))
      throw new Error(`${program} is not installed (Debian packages kamailio, kamailio-websocket-modules): run scripts/setup.sh`);
  }

  // A port just freed by the kernel can be taken again before Kamailio
  // binds it: then another port, a few times.
  let lastError = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await startOn(port, users, domain, opts, startTimeoutMs);
    } catch (e) {
      lastError = e;
      if (!e.addressInUse) throw e;
    }
  }
  throw lastError;
}

// A CA of the instance's own, and a server certificate for 127.0.0.1 it
// issued: a private SIP server's setup, which a client trusts only when
// given that CA.
function makeCertificates (dir) {
  const at = (f) => path.join(dir, f);
  const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', at('ca.key'), '-out', at('ca.pem'), '-days', '2',
    '-subj', '/CN=sip.test test CA', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign');
  openssl('req', ...ec, '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(at('server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', at('server.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'),
    '-CAcreateserial', '-days', '2', '-extfile', at('server.ext'), '-out', at('server.pem'));
  fs.writeFileSync(at('tls.cfg'), [
    '[server:default]',
    'method = TLSv1.2+',
    'verify_certificate = no',
    'require_certificate = no',
    `private_key = ${at('server.key')}`,
    `certificate = ${at('server.pem')}`,
    '',
  ].join('\n'));
  return { caFile: at('ca.pem'), config: at('tls.cfg') };
}

async function startOn (port, users, domain, opts, startTimeoutMs) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kamailio-'));
  const ctlSocket = path.join(dir, 'ctl');
  const logFile = path.join(dir, 'kamailio.log');
  const userList = Object.entries(users).map(([u, p]) => `${u}=${p}`).join(';');
  const defines = [
    `WS_PORT=${port}`,
    `DOMAIN="${domain}"`,
    `USERS="${userList}"`,
    `CTL_SOCKET="unix:${ctlSocket}"`,
  ];
  if (opts.sha256) defines.push('WITH_SHA256');
  if (opts.minExpires !== undefined) defines.push(`MIN_EXPIRES=${opts.minExpires}`);
  if (opts.maxExpires !== undefined) defines.push(`MAX_EXPIRES=${opts.maxExpires}`);
  if (opts.dispatcher) {
    // Set 1: one destination per user, calls to "agents" spread over them;
    // flag 16: the domain is not resolved (no DNS here; a destination is
    // found by its registration).
    const list = path.join(dir, 'dispatcher.list');
    fs.writeFileSync(list, opts.dispatcher.map((u) => `1 sip:${u}@${domain} 16\n`).join(''));
    defines.push('WITH_DISPATCHER', `DS_LIST="${list}"`);
  }
  let tls = null;
  if (opts.tls) {
    tls = { ...makeCertificates(dir), port: await freePort() };
    defines.push('WITH_TLS', `WSS_PORT=${tls.port}`, `TLS_CONFIG="${tls.config}"`);
  }
  const args = [
    '-f', configFile,
    '-DD', '-E',            // foreground (its workers forked), log to stderr
    '-m', '32', '-M', '4',  // MB of shared and per-process memory
    '-Y', dir,              // runtime files here, not under /run/kamailio
    '-w', dir,              // and a core file, if it ever crashes
    ...defines.flatMap((d) => ['-A', d]),
  ];
  fs.writeFileSync(path.join(dir, 'command'), [kamailioPath, ...args].join(' ') + '\n');

  const log = fs.createWriteStream(logFile);
  const lines = [];
  const proc = spawn(kamailioPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const onData = (chunk) => {
    log.write(chunk);
    const text = (onData.rest || '') + chunk.toString('utf8');
    const parts = text.split('\n');
    onData.rest = parts.pop();
    for (const l of parts) lines.push(l);
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      exitInfo = signal ? `signal ${signal}` : `status ${code}`;
      resolve(exitInfo);
    });
    proc.on('error', (e) => {
      exitInfo = e.message;
      resolve(exitInfo);
    });
  });

  const url = `ws://127.0.0.1:${port}`;
  const tail = (n = 40) => lines.slice(-n).join('\n');
  let stopped = false;

  const inst = {
    pid: proc.pid,
    url,
    port,
    wssUrl: tls ? `wss://127.0.0.1:${tls.port}` : null,
    caFile: tls ? tls.caFile : null,
    domain,
    users,
    sha256: !!opts.sha256,
    dir,
    logFile,
    ctlSocket,
    exited,
    uri: (user) => `sip:${user}@${domain}`,
    // The whole log so far, as lines.
    logLines: () => lines.slice(),
    tail,
    // Throws, with the end of its log, when the instance has died.
    assertAlive () {
      if (exitInfo !== null && !stopped)
        throw new Error(`kamailio on ${url} exited (${exitInfo}); its log ends:\n${tail()}`);
    },
    // Requests received so far, in order, each with n (its number, from 0);
    // filter is { method, callId, ... } (exact values) or a predicate.
    requests (filter) {
      return lines.map(parseRequestLine).filter(Boolean)
        .map((r, n) => ({ ...r, n })).filter((r) => matches(r, filter));
    },
    // Challenges sent so far, with the auth module's verdict on the
    // credentials (-5: none).
    challenges (filter) {
      return lines.map(parseAuthLine).filter((r) => r && matches(r, filter));
    },
    // Waits until a request matching filter has been logged; returns it.
    async waitForRequest (filter, timeoutMs = 10000, what = 'a request') {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        inst.assertAlive();
        const found = inst.requests(filter);
        if (found.length) return found.at(-1);
        if (Date.now() > deadline)
          throw new Error(`kamailio did not log ${what} within ${timeoutMs} ms; its log ends:\n${tail(15)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    // Runs kamcmd on the instance's control socket; resolves its output.
    kamcmd (...cmd) {
      return new Promise((resolve, reject) => {
        execFile(kamcmdPath, ['-s', `unix:${ctlSocket}`, ...cmd], { timeout: 10000 }, (err, stdout, stderr) => {
          if (err) reject(new Error(`kamcmd ${cmd.join(' ')}: ${(stderr || err.message).trim()}`));
          else resolve(stdout);
        });
      });
    },
    // The location table: { user: [contact, ...] } for every user with a
    // registered contact.
    async locations () {
      inst.assertAlive();
      const [dump] = parseKamcmd(await inst.kamcmd('ul.dump'));
      const result = {};
      for (const d of asList(dump && dump.Domains && dump.Domains.Domain)) {
        if (d.Domain !== 'location') continue;
        for (const info of asList(d.AoRs && d.AoRs.Info)) {
          const contacts = asList(info.Contacts && info.Contacts.Contact).map(contactOf);
          if (contacts.length) result[info.AoR] = contacts;
        }
      }
      return result;
    },
    // Stops it (SIGTERM, then SIGKILL after 5 s) and removes its directory
    // unless KAMAILIO_KEEP is set.
    async stop () {
      if (stopped) return;
      stopped = true;
      if (exitInfo === null) {
        proc.kill('SIGTERM');   // the main process stops its workers
        const timer = setTimeout(() => killAll(dir, 'SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      // Workers that outlived their main process (killed, or crashed).
      killAll(dir, 'SIGKILL');
      proc.stdout.destroy();
      proc.stderr.destroy();
      running.delete(inst);
      await new Promise((resolve) => log.end(resolve));
      if (!process.env.KAMAILIO_KEEP) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(inst);

  // Ready: the WebSocket upgrade with "sip" succeeds and kamcmd answers.
  const deadline = Date.now() + startTimeoutMs;
  try {
    for (;;) {
      if (exitInfo !== null) {
        const e = new Error(`kamailio exited during its start (${exitInfo}); its log ends:\n${tail()}`);
        e.addressInUse = /Address already in use/.test(lines.join('\n'));
        throw e;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`kamailio did not accept a WebSocket with subprotocol "sip" on ${url} ` +
          `within ${startTimeoutMs} ms; its log ends:\n${tail()}`);
      }
      // With TLS, wss:// too, trusting only the instance's CA.
      if (await probeWebSocket(url, Math.min(2000, left)) &&
          (!tls || await probeWebSocket(inst.wssUrl, Math.min(2000, left), { ca: fs.readFileSync(tls.caFile) })))
        break;
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 50))]);
    }
    await inst.kamcmd('core.uptime');
  } catch (e) {
    await inst.stop();
    throw e;
  }
  return inst;
}
