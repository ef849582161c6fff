// SPDX-License-Identifier: LGPL-2.1-or-later
// bridge-bench: what the phone-to-agent bridge adds to a call, in time and
// CPU, against the same bridge made of a Chromium page.
//
// The bridges, each fresh for its round (a cold call in a new process):
//  - gst: gst-launch-1.0 sipphone auto-answer=true ! openairealtimesink
//    openairealtimesrc ! sipphone (tests/browser/bridge.mjs);
//  - chromium: benchmarks/bridge_page.html in a browser launched for the
//    round: JsSIP answering, an RTCPeerConnection to the agent made as the
//    official browser flow makes it, each side's received track sent to
//    the other.
// The caller is a JsSIP page (tests/sip/phone.html, 440 Hz) calling through
// Kamailio; the agent is the local realtime server, echoing what it hears
// while it is not speaking and answering each turn with an 880 Hz tone.
//
// Latency is read on the wire, not from either bridge: a raw socket on lo
// (bridge_capture.py) stamps every RTP packet, and the legs are told apart
// by whose sockets the ports are (/proc/<pid>/fd). SRTP hides the audio but
// not its size: Opus codes digital silence in a few bytes and the tone in
// tens, so an onset is the first big packet after a quiet spell. Per round:
//  - in: the page starts its tone; first big packet page→bridge to first
//    big packet bridge→agent;
//  - back (echo): the server echoes it; first big packet agent→bridge to
//    first big packet bridge→page;
//  - back (reply): the page falls silent, the agent answers the turn; the
//    same two packets for the reply's onset.
// CPU: utime+stime of the bridge (/proc/<pid>/stat; for Chromium every
// process of its browser) over --window seconds registered with the agent
// call up and no phone call, then as long in the call with the tone flowing
// both ways.
//
// Runs inside the network namespace of tests/browser/run.sh (a raw socket
// needs its CAP_NET_RAW):
//   tests/browser/run.sh benchmarks/bridge.mjs [--runs 10] [--window 10]
//     [--markdown FILE] [--plot FILE.svg] [--sizes]
// scripts/bench.sh bridge does that. See docs/benchmarks/phone.md.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startKamailio } from '../tests/sip/kamailio.mjs';
import { servePhone, openPhone } from '../tests/sip/phone.mjs';
import { jssipBundle } from '../tests/sip/bundle.mjs';
import { launch } from '../tests/browser/browser.mjs';
import { until } from '../tests/browser/checks.mjs';
import { startServer, startBridge } from '../tests/browser/bridge.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const opts = { runs: 10, window: 10, markdown: null, plot: null, sizes: false };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = process.argv[i + 1];
  if (a === '--runs' && v) { opts.runs = Number(v); i++; }
  else if (a === '--window' && v) { opts.window = Number(v); i++; }
  else if (a === '--markdown' && v) { opts.markdown = v; i++; }
  else if (a === '--plot' && v) { opts.plot = v; i++; }
  else if (a === '--sizes') opts.sizes = true;
  else {
    console.error('usage: bridge.mjs [--runs N] [--window SECONDS] [--markdown FILE] [--plot FILE.svg] [--sizes]');
    process.exit(2);
  }
}

const CALLER_HZ = 440;
const AGENT_HZ = 880;
// An onset: the first packet at least MARGIN bytes (UDP payload: RTP
// header, extensions, Opus, SRTP tag) over the biggest of the leg's last
// second of silence, after QUIET_MS without one. The margin is small since
// Chromium's encoder ramps its packets up over a few frames. Silence is not always a
// few bytes: the page's encoder codes digital silence in 54–57 bytes, which
// decode to noise at about -98 dBFS that the gst bridge's encoder then
// spends 103 bytes on (and the server's echo of it, 105–111); the tones
// take 88–111 bytes from the page and 160–200 from the others (--sizes
// prints them).
const MARGIN = 10;
const QUIET_MS = 200;
// Silence is steady when its packets vary by no more than this.
const STEADY = 25;
// How long the legs carry silence before the tone starts.
const SETTLE_MS = 1000;

// ---- the wire ----

function startCapture () {
  const proc = spawn('/usr/bin/python3', [path.join(here, 'bridge_capture.py')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const cap = { proc, packets: [], err: '' };
  proc.stderr.on('data', (d) => { cap.err += d; });
  cap.ready = new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      if (line === 'ready') return resolve();
      const f = line.split(' ');
      cap.packets.push({ t: Number(f[0]), sp: Number(f[2]), dp: Number(f[4]), n: Number(f[5]) });
    });
    proc.on('close', (code) => reject(new Error(`the capture exited (${code}): ${cap.err.slice(-500)}`)));
  });
  cap.alive = () => {
    if (proc.exitCode !== null) throw new Error(`the capture exited: ${cap.err.slice(-500)}`);
    return true;
  };
  cap.stop = () => proc.kill('SIGTERM');
  return cap;
}

// Local UDP ports of the sockets that these processes hold.
function udpPorts (pids) {
  const inodes = new Set();
  for (const pid of pids) {
    let fds = [];
    try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch { continue; }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch { /* closed meanwhile */ }
    }
  }
  const ports = new Set();
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && inodes.has(f[9])) ports.add(parseInt(f[1].split(':')[1], 16));
    }
  }
  return ports;
}

// The four legs, by the ports of the bridge and of the server.
function legs (packets, bridge, server) {
  const l = { pageIn: [], agentOut: [], agentIn: [], pageOut: [] };
  for (const p of packets) {
    const sb = bridge.has(p.sp); const db = bridge.has(p.dp);
    const ss = server.has(p.sp); const ds = server.has(p.dp);
    if (sb && ds) l.agentOut.push(p);
    else if (ss && db) l.agentIn.push(p);
    else if (sb && !db && !ss && !ds) l.pageOut.push(p);
    else if (db && !sb && !ss && !ds) l.pageIn.push(p);
  }
  return l;
}

// The first big packet after t that follows QUIET_MS without one.
function onset (leg, t, big) {
  let lastBig = -Infinity;
  for (const p of leg) {
    if (p.n < big) continue;
    if (p.t > t && p.t - lastBig >= QUIET_MS) return p;
    lastBig = p.t;
  }
  return null;
}

const flowing = (leg, now) => leg.some((p) => p.t > now - 200);
const recent = (leg, now) => leg.filter((p) => p.t > now - SETTLE_MS).map((p) => p.n);
// Flowing for a second already, every packet of it about the same size:
// the call is past its start (the encoders' first packets vary).
const settled = (leg, now) => {
  const sizes = recent(leg, now);
  return flowing(leg, now) && leg[0].t < now - SETTLE_MS && Math.max(...sizes) - Math.min(...sizes) <= STEADY;
};

// ---- CPU ----

const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
function stat (pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return null;
  }
}
const comm = (pid) => { try { return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return ''; } };
const children = (pid) => tree(pid).filter((p) => stat(p)?.ppid === pid);
// The process and all its descendants.
function tree (root) {
  const kids = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(name);
    if (!s) continue;
    if (!kids.has(s.ppid)) kids.set(s.ppid, []);
    kids.get(s.ppid).push(Number(name));
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(kids.get(out[i]) || []));
  return out;
}
function ticks (pids) {
  const m = new Map();
  for (const pid of pids) { const s = stat(pid); if (s) m.set(pid, s.ticks); }
  return m;
}
// CPU ms per second of wall time over the window, the peers checked alive
// every 50 ms meanwhile: a fixed span to measure over, not a wait for an
// event.
async function cpuOver (pidsOf, alive, window = opts.window) {
  const before = ticks(pidsOf());
  const t0 = performance.now();
  await until(() => alive() && performance.now() - t0 >= window * 1000, window * 1000 + 5000, 'the end of the window');
  const after = ticks(pidsOf());
  const seconds = (performance.now() - t0) / 1000;
  let sum = 0;
  for (const [pid, t] of after) sum += t - (before.get(pid) || 0);
  return sum * TICK_MS / seconds;
}
// Until two seconds in a row cost about the same: a browser just launched
// keeps loading for a while after its page says it is ready.
async function cpuSettled (pidsOf, alive) {
  let prev = null;
  await until(async () => {
    const r = await cpuOver(pidsOf, alive, 1);
    const steady = prev !== null && Math.abs(r - prev) <= Math.max(15, 0.2 * prev);
    prev = r;
    return steady;
  }, 30000, 'the bridge\'s CPU use settling');
}

// ---- the two bridges ----

async function servePage () {
  const files = {
    '/bridge.html': ['text/html; charset=utf-8', fs.readFileSync(path.join(here, 'bridge_page.html'))],
    '/jssip.js': ['text/javascript; charset=utf-8', Buffer.from(jssipBundle())],
  };
  const srv = http.createServer((req, res) => {
    const file = files[req.url.split('?')[0]];
    res.writeHead(file ? 200 : 404, file ? { 'Content-Type': file[0], 'Cache-Control': 'no-store' } : {});
    res.end(file ? file[1] : undefined);
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return {
    url: `http://127.0.0.1:${srv.address().port}/bridge.html`,
    close: () => { srv.closeAllConnections(); return new Promise((resolve) => srv.close(resolve)); },
  };
}

async function gstBridge (ctx) {
  const b = startBridge(ctx.kam, ctx.base, 'bob');
  const pids = () => [b.proc.pid];
  return {
    user: 'bob', pids, alive: () => b.alive(),
    registered: () => b.alive() && b.states().includes('registered'),
    ended: () => b.states().at(-1) === 'ended',
    stop: () => b.stop(),
    dump: () => b.out.slice(-3000),
  };
}

async function chromiumBridge (ctx) {
  // Playwright starts the browser as a child of this process: the new child is its root.
  const before = new Set(children(process.pid));
  const browser = await launch();
  const root = children(process.pid).find((pid) => !before.has(pid) && /chrom/.test(comm(pid)));
  if (!root) { await browser.close(); throw new Error('the bridge browser\'s process was not found'); }
  const page = await browser.newPage();
  const lines = [];
  let crashed = false;
  page.on('console', (m) => lines.push(`${m.type()}: ${m.text()}`));
  page.on('crash', () => { crashed = true; });
  const bridge = {
    user: 'carol', pids: () => tree(root),
    alive: () => {
      if (crashed || !browser.isConnected()) throw new Error(`the bridge page died: ${lines.slice(-20).join('\n')}`);
      return true;
    },
    state: () => page.evaluate(() => ({ line: window.bridge.line, agent: window.bridge.agent, call: window.bridge.call, errors: window.bridge.errors })),
    stop: () => browser.close(),
    dump: async () => JSON.stringify(await bridge.state().catch((e) => e.message)) + '\n' + lines.slice(-20).join('\n'),
  };
  bridge.registered = async () => bridge.alive() && (await bridge.state()).line === 'registered';
  bridge.ended = async () => ['ended', 'failed'].includes((await bridge.state()).call);
  try {
    await page.goto(ctx.pageServer.url);
    // The secret is minted here, as an application's server would mint it.
    const res = await fetch(`${ctx.base}/v1/realtime/client_secrets`, {
      method: 'POST',
      headers: { 'Authorization': 'Bearer local-dev-key', 'Content-Type': 'application/json' },
      body: JSON.stringify({ session: { type: 'realtime', model: 'gpt-realtime' } }),
    });
    if (!res.ok) throw new Error(`no secret: HTTP ${res.status}`);
    const secret = (await res.json()).value;
    await page.evaluate((o) => window.bridge.connectAgent(o), { callsUrl: `${ctx.base}/v1/realtime/calls`, secret });
    await page.evaluate((o) => window.bridge.register(o), { uri: ctx.kam.uri('carol'), password: ctx.kam.users.carol, ws: ctx.kam.url });
  } catch (e) {
    await browser.close();
    throw e;
  }
  return bridge;
}

// ---- a round ----

async function round (ctx, who) {
  const { cap, alice, server } = ctx;
  cap.packets = [];
  const bridge = await (who === 'gst' ? gstBridge(ctx) : chromiumBridge(ctx));
  const serverPorts = () => udpPorts([server.proc.pid]);
  let ports = null;
  let talkAt = 0;
  const big = {};
  const live = () => cap.alive() && bridge.alive() && server.proc.exitCode === null;
  const current = () => legs(cap.packets, ports.bridge, ports.server);
  try {
    await until(async () => live() && bridge.registered(), 20000, `the ${who} bridge registered`);
    // The agent call is up once audio flows both ways between bridge and server.
    await until(() => {
      ports = { bridge: udpPorts(bridge.pids()), server: serverPorts() };
      const l = current();
      const now = Date.now();
      return live() && flowing(l.agentIn, now) && flowing(l.agentOut, now);
    }, 20000, `audio between the ${who} bridge and the agent`);
    await cpuSettled(bridge.pids, live);
    const idle = await cpuOver(bridge.pids, live);

    await alice.page.evaluate(() => window.phone.talk(false));
    await alice.page.evaluate((to) => window.phone.call(to), ctx.kam.uri(bridge.user));
    await until(async () => live() && (await alice.page.evaluate(() => window.phone.state())) === 'confirmed', 20000,
      `the ${who} bridge answering`);
    // All four legs carrying silence for a while: the page and the echo are
    // silent, and the agent is not speaking (a click as the call starts may
    // be taken for a turn, and the reply is as steady as silence).
    await until(async () => {
      ports = { bridge: udpPorts(bridge.pids()), server: serverPorts() };
      const l = current();
      const now = Date.now();
      return live() && Object.values(l).every((leg) => settled(leg, now)) &&
        alice.page.evaluate(() => window.phone.silent(10));
    }, 30000, `silence flowing on the four legs of the ${who} bridge`);

    // In, and back by the echo.
    talkAt = Date.now();
    for (const [name, leg] of Object.entries(current())) big[name] = Math.max(...recent(leg, talkAt)) + MARGIN;
    await alice.page.evaluate(() => window.phone.talk(true));
    let stage = 'page→bridge';
    const first = await until(() => {
      live();
      const l = current();
      const a = onset(l.pageIn, talkAt, big.pageIn);
      const b = a && onset(l.agentOut, a.t, big.agentOut);
      // The server may echo the tone before the bridge's packets have grown
      // past the threshold: the echo's onset is looked for after the caller's.
      const c = b && onset(l.agentIn, a.t, big.agentIn);
      const d = c && onset(l.pageOut, c.t, big.pageOut);
      stage = d ? '' : c ? 'bridge→page' : b ? 'agent→bridge' : a ? 'bridge→agent' : 'page→bridge';
      return d && { a, b, c, d };
    }, 10000, `the tone through the ${who} bridge and its echo back`).catch((e) => {
      throw new Error(`${e.message} (no onset ${stage})`);
    });
    const call = await cpuOver(bridge.pids, live);

    // Back, by the agent's reply to the turn.
    const quietAt = Date.now();
    await alice.page.evaluate(() => window.phone.talk(false));
    const reply = await until(() => {
      live();
      const l = current();
      const e = onset(l.agentIn, quietAt, big.agentIn);
      const f = e && onset(l.pageOut, e.t, big.pageOut);
      return f && { e, f };
    }, 20000, `the agent's reply through the ${who} bridge`);

    if (opts.sizes) printSizes(who, current(), talkAt, big);
    await alice.page.evaluate(() => window.phone.hangup());
    await until(async () => live() && bridge.ended(), 10000, `the ${who} bridge's call ended`);
    return {
      in: first.b.t - first.a.t, echo: first.d.t - first.c.t, reply: reply.f.t - reply.e.t,
      idle, call,
    };
  } catch (e) {
    if (ports && talkAt) printSizes(who, current(), talkAt, big);
    console.log(`${who} bridge:\n${await bridge.dump()}`);
    console.log((await alice.dump()).slice(0, 1500));
    await alice.page.evaluate(() => { try { window.phone.hangup(); } catch { /* no call up */ } });
    throw e;
  } finally {
    await bridge.stop();
  }
}

// Packet sizes per leg, quiet (before the tone) and loud, to check the onset thresholds.
function printSizes (who, l, talkAt, big) {
  for (const [name, leg] of Object.entries(l)) {
    const hist = (ps) => {
      const h = new Map();
      for (const p of ps) h.set(p.n, (h.get(p.n) || 0) + 1);
      return [...h].sort((x, y) => x[0] - y[0]).map(([n, c]) => `${n}×${c}`).join(' ');
    };
    console.log(`  ${who} ${name} (onset at ${big[name]} bytes) before the tone: ${hist(leg.filter((p) => p.t < talkAt))}`);
    console.log(`  ${who} ${name} after: ${hist(leg.filter((p) => p.t >= talkAt))}`);
  }
}

// ---- the report ----

const sorted = (xs) => [...xs].sort((x, y) => x - y);
const pct = (xs, q) => { const s = sorted(xs); return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]; };
const median = (xs) => { const s = sorted(xs); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const summary = (xs, d = 0) => `${median(xs).toFixed(d)} / ${pct(xs, 0.9).toFixed(d)} / ${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}`;

function table (results) {
  const rows = [
    ['in', 'phone → agent: page→bridge to bridge→agent (ms)', 1],
    ['echo', 'agent → phone, echo: agent→bridge to bridge→page (ms)', 1],
    ['reply', 'agent → phone, reply: agent→bridge to bridge→page (ms)', 1],
    ['idle', 'CPU registered, agent call up, no phone call (ms/s)', 1],
    ['call', 'CPU in the call, tone both ways (ms/s)', 1],
    ['delta', 'CPU of the phone call: in call − idle (ms/s)', 1],
  ];
  for (const r of [...results.gst, ...results.chromium]) r.delta = r.call - r.idle;
  return ['| median / p90 / min–max | gst-launch bridge | Chromium bridge |', '|---|---|---|',
    ...rows.map(([k, label, d]) => `| ${label} | ${summary(results.gst.map((r) => r[k]), d)} | ` +
      `${summary(results.chromium.map((r) => r[k]), d)} |`)].join('\n');
}

// Each round's added latency, both bridges side by side, as an SVG strip plot.
function plot (results, file) {
  const cols = [['in', 'in'], ['echo', 'back (echo)'], ['reply', 'back (reply)']];
  const all = [...results.gst, ...results.chromium].flatMap((r) => cols.map(([k]) => r[k]));
  const max = Math.ceil(Math.max(...all) / 20) * 20;
  const W = 640; const H = 320; const L = 50; const B = 40; const T = 30;
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="18">Added latency per round (ms), ${results.gst.length} cold calls each, measured on the wire</text>`];
  for (let v = 0; v <= max; v += max / 4) {
    out.push(`<line x1="${L}" x2="${W - 10}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`);
  }
  const colW = (W - L - 10) / cols.length;
  cols.forEach(([k, label], i) => {
    const x0 = L + i * colW;
    out.push(`<text x="${x0 + colW / 2}" y="${H - B + 18}" text-anchor="middle">${label}</text>`);
    for (const [who, color, dx] of [['gst', '#1f77b4', 0.33], ['chromium', '#d62728', 0.67]]) {
      results[who].forEach((r, j) => {
        const jitter = ((j % 5) - 2) * 4;
        out.push(`<circle cx="${(x0 + colW * dx + jitter).toFixed(1)}" cy="${y(r[k]).toFixed(1)}" r="3.5" fill="${color}" fill-opacity="0.7"/>`);
      });
      const m = median(results[who].map((r) => r[k]));
      out.push(`<line x1="${x0 + colW * dx - 14}" x2="${x0 + colW * dx + 14}" y1="${y(m)}" y2="${y(m)}" stroke="${color}" stroke-width="2"/>`);
    }
  });
  out.push(`<circle cx="${W - 190}" cy="${H - 12}" r="4" fill="#1f77b4"/><text x="${W - 182}" y="${H - 8}">gst-launch</text>`,
    `<circle cx="${W - 100}" cy="${H - 12}" r="4" fill="#d62728"/><text x="${W - 92}" y="${H - 8}">Chromium</text>`, '</svg>');
  fs.writeFileSync(file, out.join('\n') + '\n');
}

// ---- main ----

const cap = startCapture();
await cap.ready;
const kam = await startKamailio({ users: { alice: 'alice-secret', bob: 'bob-secret', carol: 'carol-secret' } });
const server = startServer({ agentHz: AGENT_HZ, echo: true });
const browser = await launch();
const phones = await servePhone();
const pageServer = await servePage();
const results = { gst: [], chromium: [] };
let failed = null;
let lost = 0;
try {
  const base = await server.ready;
  const alice = await openPhone(browser, phones, { name: 'alice', tone: CALLER_HZ });
  await alice.page.evaluate((o) => window.phone.register(o), { uri: kam.uri('alice'), password: kam.users.alice, ws: kam.url });
  const ctx = { cap, kam, base, server, alice, pageServer };
  for (let r = 0; r < opts.runs; r++) {
    // Alternated: neither bridge always runs first.
    for (const who of r % 2 ? ['chromium', 'gst'] : ['gst', 'chromium']) {
      let m = null;
      // A round that fails is reported and run again, a few times per run.
      while (!m) {
        m = await round(ctx, who).catch((e) => {
          if (++lost > 3) throw e;
          console.log(`round ${r + 1} ${who} lost: ${e.message}`);
          return null;
        });
      }
      results[who].push(m);
      console.log(`round ${r + 1} ${who}: in ${m.in.toFixed(1)} ms, back ${m.echo.toFixed(1)} ms (echo), ` +
        `${m.reply.toFixed(1)} ms (reply); ` +
        `CPU ${m.idle.toFixed(1)} ms/s idle, ${m.call.toFixed(1)} ms/s in the call`);
    }
  }
} catch (e) {
  failed = e;
} finally {
  await browser.close();
  await phones.close();
  await pageServer.close();
  await server.stop();
  await kam.stop();
  cap.stop();
}
if (failed) {
  console.error(`bridge-bench: ${failed.message}`);
  process.exit(1);
}
const md = table(results);
console.log(`\n${opts.runs} rounds each (${lost} lost and run again), ${opts.window} s CPU windows\n${md}`);
if (opts.markdown) fs.writeFileSync(opts.markdown, md + '\n');
if (opts.plot) plot(results, opts.plot);
