// SPDX-License-Identifier: LGPL-2.1-or-later
// phone-bench: how fast sipphone answers and how soon audio flows, against
// JsSIP in Chromium doing the same through the same Kamailio.
//
// Each round, in turn:
//  - element: a JsSIP page (440 Hz) calls a sipphone with auto-answer=true
//    in a fresh process (tests/browser/sip_app.py, 660 Hz: a cold first
//    call, the DTLS certificate and all);
//  - jssip: the same page calls a second JsSIP page that answers from its
//    newRTCSession handler (a fresh page each round).
// Measured at the callee, each on its own clock: INVITE received to 200 OK
// sent, and 200 OK sent to the caller's tone first heard (the element: its
// first 50 ms window at 440 Hz; a page: its first analyser reading at the
// tone, taken every 50 ms); at the caller (the page): 200 OK received to the
// callee's tone first heard. First-audio figures carry up to 50 ms of that
// grain on either side.
//
// Runs inside the network namespace of tests/browser/run.sh:
//   tests/browser/run.sh benchmarks/phone.mjs [--runs 10] [--markdown FILE]
// scripts/bench.sh phone does that. See docs/benchmarks/phone.md.
import { writeFileSync } from 'node:fs';
import { startKamailio } from '../tests/sip/kamailio.mjs';
import { servePhone, openPhone } from '../tests/sip/phone.mjs';
import { launch } from '../tests/browser/browser.mjs';
import { until } from '../tests/browser/checks.mjs';
import { startApp } from '../tests/browser/sip_app.mjs';

const opts = { runs: 10, markdown: null };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = process.argv[i + 1];
  if (a === '--runs' && v) { opts.runs = Number(v); i++; }
  else if (a === '--markdown' && v) { opts.markdown = v; i++; }
  else { console.error('usage: phone.mjs [--runs N] [--markdown FILE]'); process.exit(2); }
}

const CALLER_HZ = 440;
const CALLEE_HZ = 660;
const near = (f, hz) => Math.abs(f - hz) <= 15;

// The page's events and readings after t (page clock, ms).
const pageState = (phone) => phone.page.evaluate(() => ({
  calls: window.phone.calls.map((c) => ({ events: c.events, direction: c.direction })),
  samples: window.phone.samples.slice(),
  now: Math.round(performance.now()),
}));
const firstHeard = (samples, hz, after) => samples.find((s) => s.t >= after && near(s.freq, hz) && s.db > -40);

async function elementRound (ctx) {
  const app = startApp(ctx.kam, 'bob', { AUTO_ANSWER: '1', TONE: String(CALLEE_HZ) });
  try {
    await app.untilState('registered', 20000);
    await ctx.alice.page.evaluate((to) => window.phone.call(to), ctx.kam.uri('bob'));
    await app.untilState('connected', 20000);
    await until(() => app.events.find((e) => e.ev === 'heard' && near(e.freq, CALLER_HZ) && e.db > -40), 15000,
      'the element hearing the page');
    await until(async () => {
      const st = await pageState(ctx.alice);
      const call = st.calls.at(-1);
      const accepted = call.events.find((e) => e.event === 'accepted');
      return accepted && firstHeard(st.samples, CALLEE_HZ, accepted.t);
    }, 15000, 'the page hearing the element');
    const incoming = app.events.find((e) => e.ev === 'incoming');
    const answered = app.events.find((e) => e.ev === 'state' && e.state === 'connected');
    const heard = app.events.find((e) => e.ev === 'heard' && e.t >= answered.t && near(e.freq, CALLER_HZ) && e.db > -40);
    const st = await pageState(ctx.alice);
    const accepted = st.calls.at(-1).events.find((e) => e.event === 'accepted');
    const callerHeard = firstHeard(st.samples, CALLEE_HZ, accepted.t);
    await ctx.alice.page.evaluate(() => window.phone.hangup());
    await app.untilState('ended', 10000);
    return {
      answer: answered.t - incoming.t,
      calleeHears: heard.t - answered.t,
      callerHears: callerHeard.t - accepted.t,
    };
  } finally {
    await app.stop();
  }
}

async function jssipRound (ctx) {
  const bob = await openPhone(ctx.browser, ctx.server, { name: 'bob', tone: CALLEE_HZ });
  try {
    await bob.page.evaluate((o) => {
      // Answer at once, as auto-answer does.
      return window.phone.register(o).then(() => {
        window.phone.ua.on('newRTCSession', ({ originator, session }) => {
          if (originator === 'remote') session.answer({ mediaStream: window.phone.microphone(), pcConfig: { iceServers: [] } });
        });
      });
    }, { uri: ctx.kam.uri('bob'), password: ctx.kam.users.bob, ws: ctx.kam.url });
    await ctx.alice.page.evaluate((to) => window.phone.call(to), ctx.kam.uri('bob'));
    const done = async () => {
      const [a, b] = [await pageState(ctx.alice), await pageState(bob)];
      const accepted = a.calls.at(-1).events.find((e) => e.event === 'accepted');
      const bCall = b.calls.at(-1);
      const sent = bCall && bCall.events.find((e) => e.event === 'accepted');
      return accepted && sent && firstHeard(a.samples, CALLEE_HZ, accepted.t) &&
        firstHeard(b.samples, CALLER_HZ, sent.t) && { a, b, accepted, sent };
    };
    const { a, b, accepted, sent } = await until(done, 15000, 'both pages hearing each other');
    const incoming = b.calls.at(-1).events.find((e) => e.event === 'incoming');
    const result = {
      answer: sent.t - incoming.t,
      calleeHears: firstHeard(b.samples, CALLER_HZ, sent.t).t - sent.t,
      callerHears: firstHeard(a.samples, CALLEE_HZ, accepted.t).t - accepted.t,
    };
    await ctx.alice.page.evaluate(() => window.phone.hangup());
    return result;
  } finally {
    await bob.close();
  }
}

const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };
const range = (xs) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;

const kam = await startKamailio({ users: { alice: 'alice-secret', bob: 'bob-secret' } });
const browser = await launch();
const server = await servePhone();
const alice = await openPhone(browser, server, { name: 'alice', tone: CALLER_HZ });
const ctx = { kam, browser, server, alice };
const results = { element: [], jssip: [] };
try {
  await alice.page.evaluate((o) => window.phone.register(o), { uri: kam.uri('alice'), password: kam.users.alice, ws: kam.url });
  for (let r = 0; r < opts.runs; r++) {
    // Rounds rotated: neither side always goes first.
    const order = r % 2 ? ['jssip', 'element'] : ['element', 'jssip'];
    for (const who of order) {
      const m = await (who === 'element' ? elementRound(ctx) : jssipRound(ctx));
      results[who].push(m);
      console.log(`round ${r + 1} ${who}: INVITE→200 ${m.answer.toFixed(0)} ms, ` +
        `200→callee hears ${m.calleeHears.toFixed(0)} ms, 200→caller hears ${m.callerHears.toFixed(0)} ms`);
    }
  }
} finally {
  await alice.close();
  await browser.close();
  await server.close();
  await kam.stop();
}

const rows = [];
for (const [key, label] of [['answer', 'INVITE received → 200 OK sent (callee)'],
  ['calleeHears', '200 OK sent → caller heard at the callee'],
  ['callerHears', '200 OK received → callee heard at the caller (page)']]) {
  const e = results.element.map((m) => m[key]);
  const j = results.jssip.map((m) => m[key]);
  rows.push(`| ${label} | ${median(e).toFixed(0)} (${range(e)}) | ${median(j).toFixed(0)} (${range(j)}) | ${(median(e) / median(j)).toFixed(2)} |`);
}
const table = ['| ms, median (range) | sipphone, cold process | JsSIP in Chromium | ratio |', '|---|---|---|---|', ...rows].join('\n');
console.log(`\n${opts.runs} rounds each\n${table}`);
if (opts.markdown) writeFileSync(opts.markdown, table + '\n');
