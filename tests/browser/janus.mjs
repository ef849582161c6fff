// SPDX-License-Identifier: LGPL-2.1-or-later
// Janus's streaming plugin fed by a GStreamer pipeline, heard by a page.
//
// Starts janus with the configuration in examples/janus (copied to a temp
// folder with free loopback ports put in), a gst-launch-1.0 pipeline that
// sends a 440 Hz tone as Opus RTP to the mountpoint, and a server for
// examples/janus/listen.html; opens the page in headless chromium and checks
// that it hears the tone: dominant frequency within 15 Hz of 440 and a level
// well above silence, for 2 s in a row. Prints how long each step took.
// Everything it started is stopped at the end, whatever the outcome.
//
// Environment: JANUS (the janus program; default: janus on PATH),
// JANUS_LISTENERS (pages listening at once, default 1), JANUS_TEST_KEEP
// (keep the temp folder with the configuration and the logs).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import dgram from 'node:dgram';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, waitInPage, verdict, gstEnv } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const exampleDir = path.resolve(here, '../../examples/janus');
const TONE_HZ = 440;
const TOLERANCE_HZ = 15;
const MIN_DB = -30;            // the tone is sent at about -9 dBFS
const SUSTAINED_BLOCKS = 20;   // the page measures every 100 ms: 2 s
// How many pages listen at once (JANUS_LISTENERS, default 1): each is a
// peer connection of its own to the same mountpoint.
const LISTENERS = Math.max(1, Number(process.env.JANUS_LISTENERS || 1));

const failures = [];
const children = [];
let tmp = null;
let browser = null;
let pageServer = null;

function isExecutable (file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function findProgram (name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const file = path.join(dir || '.', name);
    if (isExecutable(file)) return file;
  }
  return null;
}

// A port the kernel just handed out on 127.0.0.1, released for the caller.
async function freePort (kind) {
  if (kind === 'udp') {
    const sock = dgram.createSocket('udp4');
    sock.bind(0, '127.0.0.1');
    await once(sock, 'listening');
    const { port } = sock.address();
    await new Promise((resolve) => sock.close(resolve));
    return port;
  }
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

// Replaces exactly one occurrence, so that a changed example fails loudly
// here instead of running with its own ports.
function replaceOnce (text, pattern, replacement, file) {
  const matches = text.match(new RegExp(pattern.source, 'gm'));
  if (!matches || matches.length !== 1)
    throw new Error(`${file}: expected one line matching ${pattern}, found ${matches ? matches.length : 0}`);
  return text.replace(pattern, replacement);
}

function templateConfig (dir, httpPort, rtpPort) {
  fs.copyFileSync(path.join(exampleDir, 'janus.jcfg'), path.join(dir, 'janus.jcfg'));
  const httpFile = 'janus.transport.http.jcfg';
  fs.writeFileSync(path.join(dir, httpFile), replaceOnce(
    fs.readFileSync(path.join(exampleDir, httpFile), 'utf8'),
    /^(\s*port\s*=\s*)\d+/m, `$1${httpPort}`, httpFile));
  const streamingFile = 'janus.plugin.streaming.jcfg';
  fs.writeFileSync(path.join(dir, streamingFile), replaceOnce(
    fs.readFileSync(path.join(exampleDir, streamingFile), 'utf8'),
    /^(\s*port\s*=\s*)\d+/m, `$1${rtpPort}`, streamingFile));
}

function start (name, program, args, env) {
  const logFile = path.join(tmp, `${name}.log`);
  const fd = fs.openSync(logFile, 'w');
  const proc = spawn(program, args, { env, stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  const child = { name, proc, logFile, exited: once(proc, 'exit') };
  proc.on('error', (e) => failures.push(`${name}: ${e.message}`));
  children.push(child);
  return child;
}

function tail (file, lines = 30) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function assertRunning (child) {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
    throw new Error(`${child.name} exited (${child.proc.exitCode ?? child.proc.signalCode}); ` +
      `last lines of its log:\n${tail(child.logFile)}`);
  }
}

// Polls an async condition until it returns a truthy value; fails after
// timeoutMs with what and the last error seen.
async function waitFor (what, fn, timeoutMs, watch = []) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  for (;;) {
    for (const child of watch) assertRunning(child);
    try {
      const value = await fn();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ': ' + last.message : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// User plus system CPU time of a process so far, in seconds.
function janusCpuSeconds (pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5), counted after the command name; clock ticks
  // are 1/100 s on Linux.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function janusPost (url, body) {
  const res = await fetch(url, {
    method: 'POST',
    body: JSON.stringify({ ...body, transaction: Math.random().toString(36).slice(2) }),
    signal: AbortSignal.timeout(5000),
  });
  const reply = await res.json();
  if (reply.janus === 'error') throw new Error(`janus ${body.janus}: ${reply.error.reason}`);
  return reply;
}

// Asks the streaming plugin how long ago the mountpoint last got a packet.
async function mountpointAge (api, id) {
  const session = (await janusPost(api, { janus: 'create' })).data.id;
  try {
    const handle = (await janusPost(`${api}/${session}`,
      { janus: 'attach', plugin: 'janus.plugin.streaming' })).data.id;
    const reply = await janusPost(`${api}/${session}/${handle}`,
      { janus: 'message', body: { request: 'list' } });
    const mp = reply.plugindata.data.list.find((m) => m.id === id);
    return mp && mp.media && mp.media[0] ? mp.media[0].age_ms : undefined;
  } finally {
    await janusPost(`${api}/${session}`, { janus: 'destroy' }).catch(() => {});
  }
}

function servePage () {
  const html = fs.readFileSync(path.join(exampleDir, 'listen.html'));
  const srv = http.createServer((req, res) => {
    if (req.url.split('?')[0] === '/listen.html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(html);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  srv.listen(0, '127.0.0.1');
  return srv;
}

async function stopChild (child) {
  const { proc } = child;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await child.exited;
  clearTimeout(timer);
}

async function cleanup () {
  if (browser) await browser.close().catch(() => {});
  browser = null;
  if (pageServer) {
    pageServer.closeAllConnections();
    await new Promise((resolve) => pageServer.close(resolve));
    pageServer = null;
  }
  // The sender first, then Janus.
  for (const child of [...children].reverse()) await stopChild(child);
  children.length = 0;
  if (tmp && !process.env.JANUS_TEST_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
}

// Whatever ends the process, nothing it started outlives it.
process.on('exit', () => {
  for (const { proc } of children)
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    console.error(`janus test: ${sig}, stopping`);
    cleanup().finally(() => process.exit(1));
  });
}

async function main () {
  const janus = process.env.JANUS || findProgram('janus');
  if (!janus || !isExecutable(janus))
    throw new Error(`janus is not installed (${janus || 'not on PATH'}; Debian package "janus"): run scripts/setup.sh`);
  const gstLaunch = findProgram('gst-launch-1.0');
  if (!gstLaunch) throw new Error('gst-launch-1.0 is not installed: run scripts/setup.sh');

  // Janus never offers loopback ICE candidates, so the WebRTC leg needs an
  // address on another interface (it stays inside this machine all the same).
  const local = Object.values(os.networkInterfaces()).flat()
    .filter((a) => a.family === 'IPv4' && !a.internal).map((a) => a.address);
  if (local.length === 0) {
    console.log('SKIP: no non-loopback IPv4 address on this machine; Janus gathers no ICE candidates on loopback');
    return 'skip';
  }

  const t0 = Date.now();
  const ms = () => Date.now() - t0;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'janus-test-'));
  const httpPort = await freePort('tcp');
  const rtpPort = await freePort('udp');
  templateConfig(tmp, httpPort, rtpPort);
  const api = `http://127.0.0.1:${httpPort}/janus`;

  const janusProc = start('janus', janus, ['-F', tmp, '-o'], process.env);
  await waitFor('the Janus HTTP API with the streaming plugin', async () => {
    const res = await fetch(`${api}/info`, { signal: AbortSignal.timeout(2000) });
    const info = await res.json();
    return info.plugins && info.plugins['janus.plugin.streaming'];
  }, 15000, [janusProc]);
  const janusReady = ms();

  const gst = start('gst-launch', gstLaunch, [
    'audiotestsrc', 'is-live=true', `freq=${TONE_HZ}`, 'volume=0.5',
    '!', 'audioconvert', '!', 'audioresample', '!', 'audio/x-raw,rate=48000',
    '!', 'opusenc', 'bitrate=64000', '!', 'rtpopuspay', 'pt=111',
    '!', 'udpsink', 'host=127.0.0.1', `port=${rtpPort}`, 'bind-address=127.0.0.1',
  ], gstEnv());
  // The sanitizer build's first gst-launch-1.0 may rebuild the registry: slow.
  await waitFor('RTP at the Janus mountpoint', async () => {
    const age = await mountpointAge(api, 1);
    return age !== undefined && age < 500;
  }, 60000, [janusProc, gst]);
  const rtpFlowing = ms();

  pageServer = servePage();
  await once(pageServer, 'listening');
  const pageUrl = `http://127.0.0.1:${pageServer.address().port}/listen.html` +
    `?janus=${encodeURIComponent(api)}&mountpoint=1&autostart=1`;

  browser = await launch();
  const pages = [];
  for (let i = 0; i < LISTENERS; i++) {
    const page = await browser.newPage();
    page.consoleLines = [];
    page.on('console', (m) => page.consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => page.consoleLines.push(`pageerror: ${e.message}`));
    pages.push(page);
  }
  const pageStart = ms();
  await Promise.all(pages.map((page) => page.goto(pageUrl)));

  const pageDump = async (page, i) => {
    const s = await page.evaluate(() => {
      const l = window.janusListen;
      return l && { state: l.state, error: l.error, times: l.times, stats: l.stats,
        events: l.events.map((e) => `${e.t} ${e.what}`),
        history: l.history.slice(-10).map((b) => `${b.t}: ${b.freq} Hz ${b.db} dBFS`) };
    }).catch((e) => ({ evaluateError: e.message }));
    const processes = children.map(({ name, proc }) => `${name}: ` +
      (proc.exitCode === null && proc.signalCode === null ? 'running' : `exited (${proc.exitCode ?? proc.signalCode})`));
    return `page ${i + 1}: ` + JSON.stringify(s, null, 1) + '\nprocesses: ' + processes.join(', ') +
      '\nconsole:\n' + page.consoleLines.join('\n') + '\njanus log:\n' + tail(janusProc.logFile, 20);
  };

  // Every page first plays something, then holds the tone for 2 s.
  await Promise.all(pages.map(async (page, i) => {
    try {
      await waitInPage(page, () => window.janusListen &&
        ['playing', 'failed'].includes(window.janusListen.state), null, 20000);
    } catch (e) {
      throw new Error(`page ${i + 1} did not start playing within 20 s\n${await pageDump(page, i)}`);
    }
    if (await page.evaluate(() => window.janusListen.state) === 'failed')
      throw new Error(`page ${i + 1} failed\n${await pageDump(page, i)}`);
  }));
  const sustained = await Promise.all(pages.map(async (page, i) => {
    try {
      await waitInPage(page, ({ n, hz, tol, minDb }) => {
        const h = window.janusListen.history;
        return h.length >= n && h.slice(-n).every((b) => b.db > minDb && Math.abs(b.freq - hz) <= tol);
      }, { n: SUSTAINED_BLOCKS, hz: TONE_HZ, tol: TOLERANCE_HZ, minDb: MIN_DB }, 15000);
      return true;
    } catch (e) {
      failures.push(`page ${i + 1}: no sustained ${TONE_HZ} Hz tone (±${TOLERANCE_HZ} Hz, > ${MIN_DB} dBFS, ` +
        `${SUSTAINED_BLOCKS / 10} s) within 15 s of the first sound\n${await pageDump(page, i)}`);
      return false;
    }
  }));
  const heard = ms();

  // Janus's CPU use while it relays to every page: its CPU time over the
  // next 3 s of the first page's audio clock.
  const cpu0 = janusCpuSeconds(janusProc.proc.pid);
  const mark = await pages[0].evaluate(() => performance.now());
  if (sustained.every(Boolean)) {
    await waitInPage(pages[0], (m) => window.janusListen.history.at(-1).t >= m + 3000, mark, 10000);
  }
  const cpuShare = (janusCpuSeconds(janusProc.proc.pid) - cpu0) /
    ((await pages[0].evaluate(() => performance.now()) - mark) / 1000);

  const results = await Promise.all(pages.map((page) => page.evaluate((n) => {
    const l = window.janusListen;
    return { times: l.times, stats: l.stats, last: l.history.slice(-n) };
  }, SUSTAINED_BLOCKS)));

  // Each selected pair joins two addresses of this machine: the media never
  // left it.
  const own = new Set([...local, '127.0.0.1']);
  results.forEach((r, i) => {
    const pair = r.stats.pair || '';
    const addrs = pair.split(' -> ').map((a) => a.replace(/:\d+$/, ''));
    if (addrs.length !== 2 || !addrs.every((a) => own.has(a)))
      failures.push(`page ${i + 1}: selected ICE pair "${pair}" is not between this machine's addresses (${[...own].join(', ')})`);
  });

  const r = results[0];
  const freqs = results.flatMap((x) => x.last.map((b) => b.freq));
  const dbs = results.flatMap((x) => x.last.map((b) => b.db));
  const rel = (k) => (k in r.times ? `${r.times[k]} ms` : 'n/a');
  console.log(`janus up after ${janusReady} ms; RTP at the mountpoint after ${rtpFlowing} ms`);
  console.log(`page 1 (ms since navigation): connecting ${rel('connecting')}, offer answered ${rel('answering')}, ` +
    `ICE connected ${rel('ice')}, webrtcup ${rel('webrtcup')}, first sound ${rel('firstAudio')}`);
  if (LISTENERS > 1) {
    const first = results.map((x) => x.times.firstAudio).sort((a, b) => a - b);
    console.log(`${LISTENERS} pages: first sound ${first[0]}..${first[first.length - 1]} ms, ` +
      `median ${first[Math.floor(first.length / 2)]} ms`);
  }
  console.log(`pages opened ${pageStart} ms after start; 2 s of tone confirmed at ${heard} ms`);
  console.log(`dominant frequency over the last 2 s: ${Math.min(...freqs)}..${Math.max(...freqs)} Hz; ` +
    `level ${Math.min(...dbs)}..${Math.max(...dbs)} dBFS`);
  console.log(`page 1: packets received ${r.stats.packetsReceived}, lost ${r.stats.packetsLost}, ` +
    `jitter ${r.stats.jitterMs} ms, jitter buffer ${r.stats.jitterBufferMs} ms; ICE pair ${r.stats.pair}`);
  console.log(`janus CPU while relaying to ${LISTENERS} page(s): ${(cpuShare * 100).toFixed(1)}% of one core`);

  // Leave the way a listener does: the page hangs up, Janus drops the session.
  await Promise.all(pages.map((page) => page.evaluate(() => window.janusListen.stop())));
  return 'ran';
}

let outcome = 'ran';
try {
  outcome = await main();
} catch (e) {
  failures.push(e.message);
} finally {
  await cleanup();
}
if (outcome === 'skip') process.exit(77);
verdict(failures);
