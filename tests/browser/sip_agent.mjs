// SPDX-License-Identifier: LGPL-2.1-or-later
// The agent answers the phone: one gst-launch-1.0 pipeline,
//
//   sipphone auto-answer=true ! openairealtimesink forward-dtmf=true
//   openairealtimesrc ! sipphone
//
// against the local realtime server (its agent speaks a 880 Hz tone) and a
// JsSIP page in Chromium through Kamailio, whose microphone is a 440 Hz
// tone it turns on and off to talk in turns. Checked as a caller would
// notice: the agent answers and is heard; what the page says reaches the
// agent (the server's input level log); talking over the agent silences it
// at the phone at once; a key pressed reaches the agent as a message.
//
// Then examples/phone_agent.py on the same line: its agent transfers the
// caller to carol (a second page) with its transfer_call tool, and ends
// the next call with end_call (the local server's model calls a tool when
// a text names it: the test types it on the example's standard input).
import { startKamailio } from '../sip/kamailio.mjs';
import { servePhone, openPhone } from '../sip/phone.mjs';
import { launch, verdict } from './browser.mjs';
import { checker, until } from './checks.mjs';
import { startServer, startBridge, startExample } from './bridge.mjs';

const { check, failures } = checker();
const AGENT_HZ = 880;

const kam = await startKamailio({ users: { alice: 'alice-secret', bob: 'bob-secret', carol: 'carol-secret' } });
const server = startServer({ agentHz: AGENT_HZ });
const browser = await launch();
const pages = await servePhone();
let bridge = null;
let example = null;
let alice = null;
let carol = null;
try {
  const base = await server.ready;
  bridge = startBridge(kam, base, 'bob', { forwardDtmf: true });
  await until(() => bridge.alive() && bridge.states().includes('registered'), 15000, 'the bridge registered');
  alice = await openPhone(browser, pages, { name: 'alice', tone: 440 });
  const inPage = (fn, arg) => alice.page.evaluate(fn, arg);
  const pageUntil = (what, fn, arg, ms = 15000) =>
    until(async () => (bridge || example).alive() && inPage(fn, arg), ms, `alice: ${what}`);
  await inPage((o) => window.phone.register(o), { uri: kam.uri('alice'), password: kam.users.alice, ws: kam.url });
  await inPage(() => window.phone.talk(false));
  await inPage((to) => window.phone.call(to), kam.uri('bob'));
  await pageUntil('the agent answering', () => window.phone.state() === 'confirmed');
  check(true, 'the agent answers the phone (auto-answer)');

  // A turn: the page talks until the agent has heard a second of it (the
  // server's input level log), then listens; the agent replies.
  const loud = async () => ((await server.log()).calls.at(-1)?.input_audio.windows || [])
    .filter((w) => w.rms_dbfs > -30);
  await inPage(() => window.phone.talk(true));
  const heard = await until(async () => { const l = await loud(); return l.length >= 10 && l; }, 15000,
    'a second of the page\'s tone at the agent');
  await inPage(() => window.phone.talk(false));
  check(true, `the agent hears the page's tone: ${heard.length} windows of 100 ms above -30 dBFS ` +
    `(loudest ${Math.max(...heard.map((w) => w.rms_dbfs)).toFixed(1)} dBFS)`);
  await pageUntil(`the agent's ${AGENT_HZ} Hz reply`, (hz) => window.phone.hears(hz, 6), AGENT_HZ, 20000);
  check(true, `the page hears the agent (${AGENT_HZ} Hz)`);

  // Barge-in: the page talks over the agent's reply.
  const t = Date.now();
  await inPage(() => window.phone.talk(true));
  await pageUntil('the agent silenced', (hz) => window.phone.samples.slice(-2).every((s) => Math.abs(s.freq - hz) > 15 || s.db < -50),
    AGENT_HZ, 5000);
  const gone = Date.now() - t;
  check(gone < 1500, `barge-in: the agent's audio stops at the phone ${gone} ms after the caller talks over it`);
  await inPage(() => window.phone.talk(false));

  // A key: it reaches the agent as a message, and the agent answers it.
  await inPage(() => window.phone.sendDTMF('5', undefined, { duration: 100 }));
  const told = await until(async () => {
    const c = (await server.log()).calls.at(-1);
    return c.messages.find((m) => /pressed 5/.test(m.text));
  }, 10000, 'the key at the agent');
  check(told.role === 'user', `a key pressed reaches the agent: "${told.text}"`);

  const agentCalls = (await server.log()).calls.length;
  const held = (await server.log()).calls.at(-1).conversation_items;
  await inPage(() => window.phone.hangup());
  await until(() => bridge.states().includes('ended'), 10000, 'the bridge\'s call ended');
  const after = (await server.log()).calls.at(-1);
  check(bridge.states().at(-1) === 'ended', `the caller hangs up: the bridge's call ends (agent call ${after.state})`);

  // The next caller meets an agent that knows nothing of the last one: the
  // conversation is emptied on the same agent call.
  const emptied = await until(async () => {
    const log = await server.log();
    return log.calls.at(-1).conversation_items === 0 && log;
  }, 10000, 'the agent\'s conversation emptied');
  check(held >= 2 && emptied.calls.length === agentCalls && emptied.calls.at(-1).state === 'active',
    `the next caller gets a fresh conversation: ${held} items deleted on the same agent call`);
  await inPage((to) => window.phone.call(to), kam.uri('bob'));
  await pageUntil('the agent answering again', () => window.phone.state(1) === 'confirmed');
  const since = (await server.log()).calls.at(-1).input_audio.windows.at(-1)?.t ?? 0;
  await inPage(() => window.phone.talk(true));
  await until(async () => (await loud()).filter((w) => w.t > since).length >= 10, 15000,
    'a second of the second caller\'s tone at the agent');
  await inPage(() => window.phone.talk(false));
  await pageUntil(`the agent's reply to the second caller`, (hz) => window.phone.hears(hz, 6), AGENT_HZ, 20000);
  check(true, 'the second caller hears the agent');
  await inPage(() => window.phone.hangup(1));
  await until(() => bridge.states().filter((st) => st === 'ended').length === 2, 10000, 'the second call ended');
  await bridge.stop();

  // The same bridge with dial=: the agent calls the page.
  bridge = startBridge(kam, base, 'bob', { dial: kam.uri('alice') });
  await pageUntil('the agent\'s call arriving', () => window.phone.calls.length === 3);
  await until(() => bridge.alive() && bridge.states().includes('ringing'), 10000, 'the agent\'s call ringing');
  await inPage(() => window.phone.answer(2));
  await pageUntil('the agent\'s call up', () => window.phone.state(2) === 'confirmed');
  const dialled = (await server.log()).calls.at(-1).input_audio.windows.at(-1)?.t ?? 0;
  await inPage(() => window.phone.talk(true));
  await until(async () => (await loud()).filter((w) => w.t > dialled).length >= 10, 15000,
    'a second of the page\'s tone at the dialling agent');
  await inPage(() => window.phone.talk(false));
  await pageUntil('the dialling agent\'s reply', (hz) => window.phone.hears(hz, 6), AGENT_HZ, 20000);
  check(bridge.states().includes('calling') && bridge.states().at(-1) === 'connected',
    `dial=: the agent calls the page, which hears it (${bridge.states().join(' → ')})`);
  await inPage(() => window.phone.hangup(2));
  await until(() => bridge.states().at(-1) === 'ended', 10000, 'the dialled call ended');
  await bridge.stop();
  bridge = null;

  // The example, with its tools.
  example = startExample(kam, base, 'bob', kam.uri('carol'));
  await until(() => example.alive() && /\[phone\] registered/.test(example.out), 15000, 'the example registered');
  carol = await openPhone(browser, pages, { name: 'carol', tone: 550 });
  await carol.page.evaluate((o) => window.phone.register(o), { uri: kam.uri('carol'), password: kam.users.carol, ws: kam.url });
  await inPage((to) => window.phone.call(to), kam.uri('bob'));
  await pageUntil('the example answering', () => window.phone.state() === 'confirmed');
  await until(() => example.alive() && /\[agent\] connected/.test(example.out), 15000, 'the example\'s agent connected');
  example.type('please transfer_call');
  await until(() => example.alive() && /\[tool\] transfer_call/.test(example.out), 20000, 'the transfer_call tool called');
  await until(() => carol.page.evaluate(() => window.phone.calls.length === 1), 15000, 'carol ringing');
  await carol.page.evaluate(() => window.phone.answer());
  await until(() => /transfer: 200, done/.test(example.out) && /\[phone\] ended/.test(example.out), 15000,
    'the transfer done and the example\'s call ended');
  await pageUntil('the example\'s BYE', () => window.phone.calls.length === 5 && window.phone.calls[3].ended);
  // alice's calls: the bridge's three, the example's, and carol's.
  const transferred = await inPage(() => window.phone.calls.map((c) => c.states.at(-1)));
  check(transferred.length === 5 && transferred[3] === 'ended' && transferred[4] === 'confirmed',
    `transfer_call: the caller is transferred to carol (calls ${transferred.slice(3).join(', ')}); the example hung up`);
  await inPage(() => window.phone.hangup(4));

  // end_call.
  const ends = (example.out.match(/\[phone\] ended/g) || []).length;
  await inPage((to) => window.phone.call(to), kam.uri('bob'));
  await pageUntil('the example answering again', () => window.phone.state(5) === 'confirmed');
  // The transferred caller's conversation was emptied when that call ended
  // (the agent's words on the transfer cut short with it), so the next
  // caller's turn is not refused for a response still under way.
  await until(async () => (await server.log()).calls.at(-1).conversation_items === 0, 10000,
    'the example\'s conversation emptied after the transfer');
  example.type('goodbye, end_call');
  await until(() => example.alive() && /\[tool\] end_call/.test(example.out), 20000, 'the end_call tool called');
  await pageUntil('the example hanging up', () => window.phone.calls[5].ended);
  const ended = await inPage(() => window.phone.calls[5].ended);
  // The page hears the BYE before the example's bus watch prints the state.
  const endedLines = () => (example.out.match(/\[phone\] ended/g) || []).length;
  await until(() => example.alive() && endedLines() > ends, 10000, 'the example reporting its call ended');
  check(ended.originator === 'remote' && endedLines() === ends + 1,
    `end_call: the agent hangs up (${JSON.stringify(ended)}, ${endedLines() - ends} ended line(s))`);
} catch (e) {
  check(false, e.message);
  if (alice) console.log(await alice.dump());
  if (bridge) console.log(bridge.out.slice(-4000));
  if (example) console.log(example.out.split("\n").filter((l) => !/^[0-9]+:[0-9]+:/.test(l)).slice(-60).join("\n"));
  if (carol) console.log(await carol.dump());
  console.log(kam.tail ? kam.tail(30) : '');
} finally {
  if (alice) await alice.close();
  if (carol) await carol.close();
  if (bridge) await bridge.stop();
  if (example) await example.stop();
  await browser.close();
  await pages.close();
  await server.stop();
  await kam.stop();
}
verdict(failures);
