// SPDX-License-Identifier: LGPL-2.1-or-later
// broadcast-bench: what webrtcbroadcastsink costs per listener, and how soon
// its listeners hear the stream start.
//
// For each listener count and delivery (data-channel, track): one sink
// process (tests/browser/broadcast_app.py: a 440 Hz tone behind a closed
// valve) and N pages of the sink's player in headless chromium:
//  - setup: from a page's navigation to its player showing "playing";
//  - first audio: from the valve opening ("speak") to each page's first
//    audio, and (data channel) to the sink sending each page its first chunk;
//  - the sink process's CPU (utime+stime, all threads) over a fixed window
//    with the stream flowing, and its memory (VmRSS, VmHWM) and threads;
//  - every page must hear 440 Hz after the window; underruns (data
//    channel), concealed audio (track) and the chunks the sink dropped are
//    counted. Chromium's CPU over the same window is reported too.
//
// The pages: at most --pages-per-browser in one chromium, because chromium
// opens at most 50 audio outputs per browser and a track page needs two
// (its AudioContext and the <audio> element); all pages of one chromium share
// one renderer (--process-per-site), which costs less CPU than one renderer
// per page. Chromium runs at a lower priority (--nice), so that on a small
// machine the sink is measured with the CPU it needs.
//
// Runs inside the network namespace of tests/browser/run.sh:
//   tests/browser/run.sh benchmarks/broadcast.mjs [--listeners 0,1,10,50]
//     [--delivery data-channel,track] [--window 10] [--markdown FILE] ...
// scripts/bench.sh broadcast does that. See docs/benchmarks/broadcast.md.
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, gstEnv } from '../tests/browser/browser.mjs';
import { startApp } from '../tests/browser/app.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// ---- options ----

const opts = { listeners: [0, 1, 10, 50], delivery: ['data-channel', 'track'], window: 10,
  warmup: 3, parallel: 10, perBrowser: 20, nice: 10, processPerSite: true, markdown: null };
const usage = 'usage: broadcast.mjs [--listeners 0,1,10,50] [--delivery data-channel,track] ' +
  '[--window SECONDS] [--warmup SECONDS] [--parallel PAGES] [--pages-per-browser PAGES] ' +
  '[--nice N] [--renderer-per-page] [--markdown FILE]';
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = process.argv[i + 1];
  if (a === '--listeners' && v) { opts.listeners = v.split(',').map(Number); i++; }
  else if (a === '--delivery' && v) { opts.delivery = v.split(','); i++; }
  else if (a === '--window' && v) { opts.window = Number(v); i++; }
  else if (a === '--warmup' && v) { opts.warmup = Number(v); i++; }
  else if (a === '--pages-per-browser' && v) { opts.perBrowser = Math.max(1, Number(v)); i++; }
  else if (a === '--nice' && v) { opts.nice = Number(v); i++; }
  else if (a === '--renderer-per-page') { opts.processPerSite = false; }
  else if (a === '--parallel' && v) { opts.parallel = Math.max(1, Number(v)); i++; }
  else if (a === '--markdown' && v) { opts.markdown = v; i++; }
  // scripts/bench.sh all hands every benchmark the same options: a run
  // count means nothing here (each configuration is one measurement).
  else if (a === '--runs' && v) { i++; }
  else { console.error(usage); process.exit(2); }
}
if (opts.listeners.some((n) => !Number.isInteger(n) || n < 0) || !(opts.window > 0) ||
    !(opts.warmup >= 0)) {
  console.error(usage);
  process.exit(2);
}

// The build tree's plugin unless the caller chose one.
const env = gstEnv({
  GST_PLUGIN_PATH_1_0: process.env.GST_PLUGIN_PATH_1_0 ||
    path.join(root, 'build', 'plugins', 'webrtcbroadcast'),
  GST_REGISTRY_1_0: process.env.GST_REGISTRY_1_0 ||
    path.join(root, 'build', 'benchmarks', 'broadcast-registry.bin'),
  GST_DEBUG: process.env.GST_DEBUG || '*:1',
});

// ---- /proc ----

const clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

// utime+stime of every thread of pid, in seconds.
function cpuSeconds (pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces: the fields start after its ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / clkTck;
}

// CPU time so far (s) of every process on the machine.
function allProcesses () {
  const out = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try { out.set(Number(d), cpuSeconds(d)); } catch { /* gone */ }
  }
  return out;
}

// What processes other than `mine` used between two allProcesses() (s):
// what ran beside the benchmark (processes that ended meanwhile are missed).
function othersBetween (before, after, mine) {
  let sum = 0;
  for (const [pid, cpu] of after)
    if (!mine.has(pid)) sum += cpu - (before.get(pid) ?? 0);
  return sum;
}

// VmRSS, VmHWM (MiB) and the thread count of pid.
function memory (pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number((status.match(new RegExp('^' + k + ':\\s+(\\d+)', 'm')) || [])[1] || 0);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024, threads: kb('Threads') };
}

// Proportional set size of pid (MiB); 0 once it is gone.
function pss (pid) {
  try {
    const s = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return Number((s.match(/^Pss:\s+(\d+)/m) || [])[1] || 0) / 1024;
  } catch { return 0; }
}

// A process and all its descendants, as they are now.
function processTree (rootPid) {
  const parent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone */ }
  }
  const inTree = (pid) => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = parent.get(p), hops++)
      if (p === rootPid) return true;
    return false;
  };
  return [...parent.keys()].filter(inTree);
}

// CPU time so far of every process of the browsers (s), and their PSS (MiB).
function browserUsage (browsers) {
  let cpu = 0, mem = 0, renderers = 0;
  const pids = [];
  for (const b of browsers) {
    for (const pid of processTree(b.pid)) {
      pids.push(pid);
      try { cpu += cpuSeconds(pid); } catch { continue; }
      mem += pss(pid);
      try { if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) renderers++; } catch { /* gone */ }
    }
  }
  return { cpu, pss: mem, renderers, pids };
}

// Lowers the priority of a browser's processes and every thread in them.
// Chromium runs its audio threads (one per page's audio output, and the
// audio service's) in the real-time class when it may, as root it may: they
// would preempt the sink whatever its priority. They go back to the normal
// class, and every thread gets `nice` (niceness is per thread on Linux;
// threads made later by a lowered thread inherit it, the renderers forked by
// the zygote among them). The pages then take what CPU the sink leaves, and
// the sink is measured as it runs when it has the CPU it needs.
function lowerPriority (browserPid, nice) {
  for (const pid of processTree(browserPid)) {
    let tids = [];
    try { tids = readdirSync(`/proc/${pid}/task`).map(Number); } catch { continue; }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        // Field 41, the scheduling policy: 0 is the normal class.
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]) !== 0)
          execFileSync('chrt', ['--other', '--pid', '0', String(tid)], { stdio: 'ignore' });
        if (os.getPriority(tid) < nice) os.setPriority(tid, nice);
      } catch { /* gone */ }
    }
  }
}

// The browser's own process id.
async function browserPid (browser) {
  const cdp = await browser.newBrowserCDPSession();
  const info = await cdp.send('SystemInfo.getProcessInfo');
  await cdp.detach();
  return info.processInfo.find((p) => p.type === 'browser')?.id;
}

// ---- the sink's process ----

async function startBenchApp (delivery) {
  return startApp(['--delivery', delivery, '--freq', '440'], { env, readyTimeoutMs: 20000 });
}

// ---- pages ----

// Stamps the moment the player first shows "playing" (data channel open, or
// the track's peer connection connected), without touching the player.
function stampPlaying () {
  window.__bench = { playingAt: null };
  document.addEventListener('DOMContentLoaded', () => {
    const el = document.getElementById('state');
    if (!el) return;
    const seen = () => {
      if (el.dataset.state === 'playing' && window.__bench.playingAt === null)
        window.__bench.playingAt = Date.now();
    };
    new MutationObserver(seen).observe(el, { attributes: true, attributeFilter: ['data-state'] });
    seen();
  });
}

async function openPage (context, url, errors) {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  const openedAt = Date.now();
  await page.goto(url);
  return { page, openedAt };
}

// Runs fn over items, at most `limit` at a time.
async function pool (items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

// The page's share of dominant-frequency samples within 15 Hz of freq, and
// what it played: sampled in the page, so 50 pages are sampled at once.
const listen = (page, freq) => page.evaluate(async (freq) => {
  let hits = 0, last = 0;
  for (let i = 0; i < 5; i++) {
    last = window.player.dominantFrequency();
    if (Math.abs(last - freq) < 15) hits++;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { share: hits / 5, last };
}, freq);

const snapshot = (page) => page.evaluate(async () => {
  const p = window.player;
  return { id: p.clientId, state: p.state, connection: p.connection, connects: p.connects, firstAudioAt: p.firstAudioAt,
    firstAudioLatencyMs: p.firstAudioLatencyMs, underruns: p.underruns,
    discontinuities: p.discontinuities, decodeErrors: p.decodeErrors, chunks: p.chunks,
    errors: p.errors.slice(0, 3), playingAt: window.__bench.playingAt,
    heardAt: p.mode === 'track' ? window.__bench.heardAt ?? null : p.firstAudioAt,
    track: p.trackStats ? await p.trackStats() : null };
});

// ---- statistics ----

// Nearest rank.
function percentile (xs, q) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-');

// ---- one configuration ----

async function measure (delivery, n) {
  const r = { delivery, n, ok: true, problems: [] };
  const problem = (what) => { r.ok = false; r.problems.push(what); console.log(`  FAIL ${what}`); };
  const app = await startBenchApp(delivery);
  const pid = app.proc.pid;
  const browsers = [];
  const deprioritize = () => {
    if (opts.nice > 0) for (const b of browsers) if (b.pid) lowerPriority(b.pid, opts.nice);
  };
  // Chromium sets its renderers' priority itself as their pages change
  // state, and makes new audio threads real-time: lowered again every second.
  const keepLow = setInterval(deprioritize, 1000);
  try {
    r.idle = memory(pid);
    let pages = [];
    const errors = [];
    if (n > 0) {
      const contexts = [];
      for (let i = 0; i < Math.ceil(n / opts.perBrowser); i++) {
        const b = await launch(opts.processPerSite ? ['--process-per-site'] : []);
        browsers.push(b);
        b.pid = await browserPid(b);
        const context = await b.newContext();
        await context.addInitScript(stampPlaying);
        contexts.push(context);
      }
      deprioritize();
      const cpu0 = cpuSeconds(pid);
      const t0 = Date.now();
      pages = await pool(Array.from({ length: n }), opts.parallel,
        (_, i) => openPage(contexts[i % contexts.length], app.url, errors));
      // Everyone connected, or the reason why not.
      const playing = await Promise.all(pages.map(({ page }) =>
        page.waitForFunction(() => window.__bench.playingAt !== null, null,
          { timeout: 60000 + n * 1000, polling: 100 }).then(() => true, () => false)));
      r.connected = playing.filter(Boolean).length;
      r.joinWall = (Date.now() - t0) / 1000;
      r.joinCpu = cpuSeconds(pid) - cpu0;
      if (r.connected < n) problem(`${n - r.connected} pages never played`);
      const stats = await app.stats(10000);
      if (stats.num_clients !== n) problem(`the sink counts ${stats.num_clients} clients`);
    }

    // The stream starts. The data channel's player stamps its first audio
    // itself (firstAudioAt: when the first chunk is due at the speakers).
    // For the track it watches for sound only for 30 s after the track
    // arrives, and 50 pages take longer than that to join: the same watch
    // (the player's level above 0.01, every 5 ms) is armed in every page.
    if (delivery === 'track') {
      await Promise.all(pages.map(({ page }) => page.evaluate(() => {
        window.__bench.heardAt = null;
        const watch = setInterval(() => {
          if (window.player.rms() > 0.01) { window.__bench.heardAt = Date.now(); clearInterval(watch); }
        }, 5);
      })));
    }
    // Threads made since (each page's audio output) need it too.
    deprioritize();
    const speaking = app.next((e) => e.event === 'speaking', 10000, 'speaking');
    app.send({ cmd: 'speak' });
    const t0 = (await speaking).t;
    const heard = await Promise.all(pages.map(({ page }) =>
      page.waitForFunction((track) => (track ? window.__bench.heardAt : window.player.firstAudioAt) !== null,
        delivery === 'track', { timeout: 20000, polling: 100 }).then(() => true, () => false)));
    if (heard.some((h) => !h)) problem(`${heard.filter((h) => !h).length} pages heard nothing`);

    // The window: the stream flows to everyone. It opens a fixed time after
    // the stream started, so that what every process does once at its
    // start (above all the DTLS certificate, made in the background when
    // the sink starts, 0.05-0.5 s of CPU) is not in it, with or without
    // listeners.
    const warm = t0 + opts.warmup * 1000 - Date.now();
    if (warm > 0) await new Promise((resolve) => setTimeout(resolve, warm));
    deprioritize();
    const before = await Promise.all(pages.map(({ page }) => snapshot(page)));
    const statsBefore = await app.stats(10000);
    const c0 = cpuSeconds(pid), a0 = allProcesses(), w0 = process.hrtime.bigint();
    const u0 = browserUsage(browsers);
    await new Promise((resolve) => setTimeout(resolve, opts.window * 1000));
    const u1 = browserUsage(browsers);
    const c1 = cpuSeconds(pid), a1 = allProcesses(), w1 = process.hrtime.bigint();
    const wall = Number(w1 - w0) / 1e9;
    r.cpu = (c1 - c0) / wall * 100;
    r.mem = memory(pid);
    r.chromiumCpu = browsers.length ? (u1.cpu - u0.cpu) / wall * 100 : NaN;
    r.chromiumPss = u1.pss;
    r.renderers = u1.renderers;
    // Everything else on the machine meanwhile: other load that the
    // numbers shared the CPUs with.
    const mine = new Set([pid, process.pid, ...u1.pids]);
    r.otherCpu = othersBetween(a0, a1, mine) / wall * 100;
    r.machineCpu = r.cpu + (browsers.length ? r.chromiumCpu : 0) + r.otherCpu;
    r.browsers = browsers.length;

    // The sink's count first: what the pages read after it is compared with
    // it, so their lag below is a lower bound.
    const stats = await app.stats(10000);
    const after = await Promise.all(pages.map(({ page }) => snapshot(page)));
    const hearing = await Promise.all(pages.map(({ page }) => listen(page, 440)));
    const drops = (st) => st.clients.reduce((s, c) => s + c.drops, 0);
    r.drops = drops(stats);
    r.dropsInWindow = drops(stats) - drops(statsBefore);
    const dropsBefore = Object.fromEntries(statsBefore.clients.map((c) => [c.id, c.drops]));
    r.droppingClients = stats.clients.filter((c) => c.drops > (dropsBefore[c.id] ?? 0)).length;

    // Per page: setup, first audio, and what went wrong while playing.
    r.setup = pages.map((p, i) => after[i].playingAt - p.openedAt).filter(Number.isFinite);
    r.first = after.filter((a) => a.heardAt != null).map((a) => a.heardAt - t0);
    // When the sink sent the page its first chunk (data channel: the
    // utterance-start message carries the sink's clock).
    r.sent = after.filter((a) => a.firstAudioLatencyMs !== null)
      .map((a) => a.firstAudioAt - a.firstAudioLatencyMs - t0);
    r.hearing = hearing.filter((h) => h.share >= 0.8).length;
    // Data channel: how far each page's reading is behind what the sink has
    // sent it (chunks of 20 ms), a page short of CPU falls behind here.
    const sentTo = Object.fromEntries(stats.clients.map((c) => [c.id, c['chunks-sent']]));
    const lag = delivery === 'track' ? [] : after.map((a) => Math.max(0, (sentTo[a.id] ?? a.chunks) - a.chunks) * 20);
    r.maxLag = lag.length ? Math.max(...lag) : NaN;
    r.lagging = lag.filter((l) => l > 200).length;
    r.underruns = after.reduce((s, a, i) => s + a.underruns - before[i].underruns, 0);
    // Concealed samples of the track in the window, as ms of audio.
    r.concealedMs = after.reduce((s, a, i) =>
      s + ((a.track?.concealed ?? 0) - (before[i].track?.concealed ?? 0)), 0) / 48;
    r.reconnects = after.reduce((s, a) => s + Math.max(0, a.connects - 1), 0);
    if (r.hearing < n) {
      problem(`${n - r.hearing} pages do not hear 440 Hz (last: ` +
        hearing.filter((h) => h.share < 0.8).slice(0, 5).map((h) => fmt(h.last)).join(', ') + ' Hz)');
    }
    if (r.reconnects) problem(`${r.reconnects} reconnections`);
    if (r.lagging) {
      console.log(`  ${r.lagging} pages read more than 200 ms behind what the sink sent them ` +
        `(at most ${fmt(r.maxLag)} ms)`);
    }
    if (r.machineCpu > os.cpus().length * 95) {
      console.log(`  the CPUs were saturated in the window (${fmt(r.machineCpu)}% of ` +
        `${os.cpus().length * 100}%: sink ${fmt(r.cpu)}%, chromium ${fmt(r.chromiumCpu)}%, others ` +
        `${fmt(r.otherCpu)}%)`);
    }
    for (const e of [...errors, ...after.flatMap((a) => a.errors)].slice(0, 3)) console.log('  page error: ' + e);
    // What the failing pages and the sink saw of them.
    const sinkSide = Object.fromEntries(stats.clients.map((c) => [c.id, c]));
    after.forEach((a, i) => {
      if (hearing[i].share >= 0.8 && a.heardAt != null) return;
      const c = sinkSide[a.id] || {};
      console.log(`  page ${i} (${a.id}): ${a.state}/${a.connection}, first audio ${a.heardAt}, ` +
        `chunks ${a.chunks}, track ${JSON.stringify(a.track)}; sink: ${c.state}, ${c['chunks-sent']} sent, ` +
        `${c.drops} dropped, ${c['buffered-amount']} bytes queued`);
    });
  } finally {
    clearInterval(keepLow);
    // The sink first: pages that vanish under it make its SCTP stack log
    // errors about sends that failed.
    await app.stop(10000);
    for (const b of browsers) await b.close().catch(() => {});
  }
  return r;
}

// ---- the run ----

console.log(`machine: ${execFileSync('nproc').toString().trim()} CPUs, ` +
  (readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m) || [])[1]);
console.log(`load average at start: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
console.log(`listeners ${opts.listeners.join(', ')}; delivery ${opts.delivery.join(', ')}; ` +
  `window ${opts.window} s from ${opts.warmup} s after the stream starts; pages opened ${opts.parallel} at a time`);

const results = [];
for (const n of opts.listeners) {
  for (const delivery of opts.delivery) {
    console.log(`--- ${delivery}, ${n} listeners`);
    let r;
    try {
      r = await measure(delivery, n);
    } catch (e) {
      console.log(`  FAIL ${e.message}`);
      r = { delivery, n, ok: false, problems: [e.message] };
    }
    results.push(r);
    if (r.cpu !== undefined) {
      console.log(`  sink CPU ${fmt(r.cpu, 1)}%  RSS ${fmt(r.mem.rss, 1)} MiB (before pages ${fmt(r.idle.rss, 1)}, ` +
        `peak ${fmt(r.mem.hwm, 1)})  threads ${r.mem.threads}  chromium CPU ${fmt(r.chromiumCpu, 0)}% ` +
        `in ${r.renderers} renderers of ${r.browsers} browsers, others ${fmt(r.otherCpu, 0)}%; chunks dropped ${r.drops} ` +
        `(${r.dropsInWindow} in the window, by ${r.droppingClients} clients), underruns in the window ${r.underruns}` +
        (n ? `  first audio median ${fmt(percentile(r.first, 0.5))} ms  setup median ` +
          `${fmt(percentile(r.setup, 0.5))} ms  hearing 440 Hz ${r.hearing}/${n}` : ''));
    }
  }
}

// ---- tables ----

const done = results.filter((r) => r.cpu !== undefined);
const base = Object.fromEntries(done.filter((r) => r.n === 0).map((r) => [r.delivery, r]));
let md = `Sink process (one \`webrtcbroadcastsink\`, 64 kbit/s mono Opus): CPU (all threads) over ${opts.window} s ` +
  'with the stream flowing, in % of one CPU; memory at the end of that window. Per listener: the ' +
  'increase over the same delivery with no listener, divided by the listeners. Join CPU: the ' +
  "sink's CPU time while the pages connected. Chromium: all its processes. Other: what other " +
  'processes on the machine used in the window (out of ' + (os.cpus().length * 100) + '%).\n\n' +
  '| delivery | listeners | playing | hear 440 Hz | sink CPU % | per listener | RSS MiB | per listener | ' +
  'peak RSS MiB | threads | join CPU s | chromium CPU % | chromium PSS MiB | other CPU % |\n' +
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
for (const r of done) {
  const b = base[r.delivery];
  const per = (x, y) => (b && r.n ? fmt((x - y) / r.n, 2) : '-');
  md += `| ${r.delivery} | ${r.n} | ${r.n ? r.connected + '/' + r.n : '-'} | ` +
    `${r.n ? r.hearing + '/' + r.n : '-'} | ${fmt(r.cpu, 1)} | ${per(r.cpu, b?.cpu)} | ` +
    `${fmt(r.mem.rss, 1)} | ${per(r.mem.rss, b?.mem.rss)} | ${fmt(r.mem.hwm, 1)} | ` +
    `${r.mem.threads} | ${r.n ? fmt(r.joinCpu, 2) : '-'} | ${fmt(r.chromiumCpu, 0)} | ` +
    `${r.n ? fmt(r.chromiumPss, 0) : '-'} | ${fmt(r.otherCpu, 0)} |\n`;
}
md += '\nTimes per page in ms, median / p95 (nearest rank) / max over the pages. First audio: from ' +
  "the stream starting (the valve opening) to the page's first audio (data channel: due at its " +
  'speakers; track: heard by its analyser). Sent: when the sink sent the page its first chunk ' +
  '(data channel only). Setup: from the page\'s navigation to its player playing. In the window: ' +
  'underruns (data channel), audio concealed by the pages (track), chunks the sink dropped (all of ' +
  'the run), and pages reading more than 200 ms behind what the sink sent them (data channel).\n\n' +
  '| delivery | listeners | first audio median | p95 | max | sent median | max | setup median | p95 | max | ' +
  'all joined (s) | underruns | concealed (ms) | chunks dropped | pages behind, max (ms) |\n' +
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n';
const mx = (xs) => (xs.length ? Math.max(...xs) : NaN);
for (const r of done.filter((x) => x.n > 0)) {
  const dc = r.delivery !== 'track';
  md += `| ${r.delivery} | ${r.n} | ${fmt(percentile(r.first, 0.5))} | ${fmt(percentile(r.first, 0.95))} | ` +
    `${fmt(mx(r.first))} | ${dc ? fmt(percentile(r.sent, 0.5)) : '-'} | ${dc ? fmt(mx(r.sent)) : '-'} | ` +
    `${fmt(percentile(r.setup, 0.5))} | ${fmt(percentile(r.setup, 0.95))} | ${fmt(mx(r.setup))} | ` +
    `${fmt(r.joinWall, 1)} | ${dc ? r.underruns : '-'} | ${dc ? '-' : fmt(r.concealedMs, 0)} | ${r.drops} | ` +
    `${dc ? r.lagging + ', ' + fmt(r.maxLag) : '-'} |\n`;
}
console.log('\n' + md);
if (opts.markdown) writeFileSync(opts.markdown, md);

const failed = results.filter((r) => !r.ok);
for (const r of failed) for (const p of r.problems) console.error(`FAIL ${r.delivery} x${r.n}: ${p}`);
process.exit(failed.length ? 1 : 0);
