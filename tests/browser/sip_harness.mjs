// SPDX-License-Identifier: LGPL-2.1-or-later
// The SIP test harness (tests/sip) against real peers only: Kamailio as
// registrar and proxy, JsSIP in Node and in two Chromium pages.
//
// 1. Registration from Node: alice's contact (with its +sip.instance) in
//    Kamailio's location table; OPTIONS answered 404 for an unknown user,
//    480 for one not registered, 200 by a registered one; unregistering
//    removes the contact. A wrong password fails once, after exactly two
//    REGISTERs (no retry storm).
// 2. A second Kamailio that challenges with algorithm=SHA-256, shown with
//    a raw WebSocket client (JsSIP refuses anything but MD5, also shown),
//    which then registers with a SHA-256 digest.
// 3. Two pages, alice with a 440 Hz microphone and bob with 880 Hz,
//    register through Kamailio; alice calls bob, bob answers, each hears
//    the other; DTMF by INFO, hold and resume through the proxy; alice
//    hangs up and both see the end. Their call state sequences are checked.
// 4. The other ways a call goes through the proxy: alice asks bob (REFER)
//    to call carol, who is not registered, and hears of the 480 by NOTIFY;
//    the callee hangs up; a call cancelled while ringing (CANCEL); a call
//    refused with 486.
//
// Every wait is bounded and names what it waited for. Prints how long each
// step took. Environment: KAMAILIO_KEEP=1 keeps Kamailio's directories
// (log, command line); SIP_DEBUG=1 puts JsSIP's log in the pages' console.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, verdict } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
for (const dep of ['jssip', 'ws']) {
  if (!fs.existsSync(path.join(here, 'node_modules', dep))) {
    console.error(`${dep} is not installed in tests/browser: run npm ci there (or scripts/setup.sh)`);
    process.exit(1);
  }
}
const { startKamailio } = await import('../sip/kamailio.mjs');
const { nodeUA } = await import('../sip/node_ua.mjs');
const { rawSip, registerRequest, digestParams, digestAuthorization, newCallId } = await import('../sip/raw.mjs');
const { servePhone, openPhone } = await import('../sip/phone.mjs');

const failures = [];
const check = (ok, what) => {
  console.log((ok ? 'ok   ' : 'FAIL ') + what);
  if (!ok) failures.push(what);
  return ok;
};
const t0 = Date.now();
const mark = (what) => console.log(`# ${what}: ${Date.now() - t0} ms`);

const cleanups = [];
async function cleanup () {
  while (cleanups.length) {
    const fn = cleanups.pop();
    await fn().catch((e) => console.error(`cleanup: ${e.message}`));
  }
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    console.error(`sip harness test: ${sig}, stopping`);
    cleanup().finally(() => process.exit(1));
  });
}

// ---- 1. registration from Node ----

async function nodeRegistration (kam) {
  const alice = nodeUA({ url: kam.url, uri: kam.uri('alice'), password: kam.users.alice });
  cleanups.push(() => alice.stop());
  await alice.until('registered');
  const instance = `<urn:uuid:${alice.ua.configuration.instance_id}>`;
  const locs = await kam.locations();
  const mine = locs.alice || [];
  check(mine.length === 1 && mine[0].instance === instance,
    `registered: the location table holds alice's contact with +sip.instance ${instance} ` +
    `(${JSON.stringify(mine.map((c) => ({ address: c.address, instance: c.instance })))})`);
  check(mine.length === 1 && /\.invalid;transport=ws$/.test(mine[0].address) &&
    /^sip:127\.0\.0\.1:\d+;transport=ws$/.test(mine[0].received || '') && mine[0].expires > 0,
  `registered: the contact is bound to alice's WebSocket (address ${mine[0] && mine[0].address}, ` +
    `received ${mine[0] && mine[0].received}, expires ${mine[0] && mine[0].expires})`);

  const unknown = await alice.options(kam.uri('nobody'));
  check(unknown === 404, `OPTIONS to a user the domain does not have: 404 (${unknown})`);
  const absent = await alice.options(kam.uri('carol'));
  check(absent === 480, `OPTIONS to a user who is not registered: 480 (${absent})`);
  const bob = nodeUA({ url: kam.url, uri: kam.uri('bob'), password: kam.users.bob });
  cleanups.push(() => bob.stop());
  await bob.until('registered');
  const present = await alice.options(kam.uri('bob'));
  check(present === 200, `OPTIONS to a registered user, through the proxy to his UA and back: 200 (${present})`);
  // JsSIP keeps its WebSocket open for 2 s after stop() while a
  // transaction lingers (here, the OPTIONS it answered): those closes are
  // waited for at the end of the test, not one after the other.
  const stopping = [bob.stop()];
  mark('Node registration and OPTIONS');

  await alice.unregister();
  const after = await kam.locations();
  check(!after.alice, `unregistered: alice's contact is gone (${JSON.stringify(after.alice || [])})`);
  stopping.push(alice.stop());

  // A wrong password: one failure, after one REGISTER without and one with
  // credentials.
  const before = kam.requests().length;
  const mallory = nodeUA({ url: kam.url, uri: kam.uri('alice'), password: 'not-her-password' });
  cleanups.push(() => mallory.stop());
  const failed = await mallory.until('registrationFailed');
  // A request sent after the failure, over the same connection: once
  // Kamailio has logged it, it has logged every REGISTER sent before it.
  // Its credentials are as wrong: JsSIP gives up after the second 407.
  const probe = await mallory.options(kam.uri('carol'));
  await kam.waitForRequest((r) => r.method === 'OPTIONS' && r.ruri === kam.uri('carol') && r.n >= before,
    10000, 'the OPTIONS sent after the failure');
  const registers = kam.requests((r) => r.n >= before && r.method === 'REGISTER' && r.from === kam.uri('alice'));
  check(failed.cause === 'Authentication Error' && failed.code === 401 && mallory.count('registrationFailed') === 1,
    `wrong password: one registrationFailed, "Authentication Error" on 401 (${mallory.count('registrationFailed')}: ${failed.cause}, ${failed.code})`);
  check(registers.length === 2 && probe === 407,
    `wrong password: Kamailio saw 2 REGISTERs (without, then with credentials), not a retry storm (${registers.length}; probe ${probe})`);
  const codes = registers.length ? kam.challenges({ callId: registers[0].callId }).map((c) => c.code) : [];
  check(codes.join() === '-5,-2', `wrong password: challenged for no credentials (-5), then for the wrong password (-2) (${codes})`);
  check(!(await kam.locations()).alice, 'wrong password: nothing registered');
  stopping.push(mallory.stop());
  mark('unregister and wrong password');
  return { closed: Promise.all(stopping) };
}

// ---- 2. SHA-256 ----

async function sha256 () {
  const kam = await startKamailio({ sha256: true });
  cleanups.push(() => kam.stop());
  mark(`Kamailio with SHA-256 up (${kam.url})`);
  const sip = await rawSip(kam.url);
  cleanups.push(async () => sip.close());
  const callId = newCallId();
  const instance = '00000000-0000-4000-8000-0000000a11ce';
  const first = await sip.request(registerRequest({ user: 'alice', domain: kam.domain, callId, cseq: 1, instance }));
  const challenge = digestParams(first.headers['www-authenticate'] || '');
  check(first.status === 401 && challenge.algorithm === 'SHA-256' && challenge.realm === kam.domain &&
    /\bauth\b/.test(challenge.qop || ''),
  `SHA-256 instance: 401 with algorithm=SHA-256, realm ${kam.domain}, qop=auth ("${first.first}"; ` +
    `WWW-Authenticate: ${first.headers['www-authenticate']})`);
  const authorization = digestAuthorization(challenge, {
    user: 'alice', password: kam.users.alice, method: 'REGISTER', uri: `sip:${kam.domain}`,
  });
  const second = await sip.request(registerRequest({
    user: 'alice', domain: kam.domain, callId, cseq: 2, instance, authorization,
  }));
  const locs = await kam.locations();
  check(second.status === 200 && locs.alice && locs.alice[0].instance === `<urn:uuid:${instance}>`,
    `SHA-256 instance: a SHA-256 digest registers alice ("${second.first}"; ${JSON.stringify(locs)})`);

  // JsSIP computes MD5 only: it gives up on this challenge at once.
  const before = kam.requests({ method: 'REGISTER' }).length;
  const bob = nodeUA({ url: kam.url, uri: kam.uri('bob'), password: kam.users.bob });
  cleanups.push(() => bob.stop());
  const failed = await bob.until('registrationFailed');
  const registers = kam.requests({ method: 'REGISTER' }).length - before;
  check(failed.code === 401 && registers === 1,
    `SHA-256 instance: JsSIP refuses the SHA-256 challenge after one REGISTER (${registers}; ${failed.cause} ${failed.code})`);
  await bob.stop();
  sip.close();

  // The MD5 instance's challenge, for contrast, is checked by the caller.
  await kam.stop();
  mark('SHA-256 challenge and registration');
}

async function md5Challenge (kam) {
  const sip = await rawSip(kam.url);
  const reply = await sip.request(registerRequest({ user: 'carol', domain: kam.domain, callId: newCallId() }));
  sip.close();
  const c = digestParams(reply.headers['www-authenticate'] || '');
  check(reply.status === 401 && (c.algorithm === undefined || c.algorithm === 'MD5') && c.realm === kam.domain,
    `MD5 instance: 401 with algorithm ${c.algorithm || '(none: MD5)'} (WWW-Authenticate: ${reply.headers['www-authenticate']})`);
}

// ---- 3. a call between two pages ----

async function browserCall (kam) {
  const browser = await launch();
  cleanups.push(() => browser.close());
  const server = await servePhone();
  cleanups.push(() => server.close());
  const debug = !!process.env.SIP_DEBUG;
  const alice = await openPhone(browser, server, { name: 'alice', tone: 440, debug });
  const bob = await openPhone(browser, server, { name: 'bob', tone: 880, debug });
  mark('pages open');

  // Waits in a page; on timeout, fails with what both pages know.
  const wait = async (phone, what, fn, arg, timeoutMs = 15000) => {
    try {
      await phone.page.waitForFunction(fn, arg, { timeout: timeoutMs, polling: 20 });
    } catch (e) {
      kam.assertAlive();
      throw new Error(`${phone.name}: ${what} did not happen within ${timeoutMs} ms (${e.message.split('\n')[0]})\n` +
        `${await alice.dump()}\n${await bob.dump()}\nkamailio log ends:\n${kam.tail(20)}`);
    }
  };

  for (const [phone, user] of [[alice, 'alice'], [bob, 'bob']]) {
    await phone.page.evaluate((o) => { window.phone.register(o).catch(() => {}); },
      { uri: kam.uri(user), password: kam.users[user], ws: kam.url });
  }
  for (const phone of [alice, bob])
    await wait(phone, 'registration', () => window.phone.registration !== 'registering');
  for (const phone of [alice, bob])
    check(await phone.page.evaluate(() => window.phone.registration) === 'registered', `${phone.name}'s page registered`);
  const locs = await kam.locations();
  check(locs.alice && locs.bob && locs.alice.length === 1 && locs.bob.length === 1,
    `both pages in the location table (${Object.keys(locs).join(', ')})`);
  mark('pages registered');

  const callStart = kam.requests().length;
  await alice.page.evaluate((to) => window.phone.call(to), kam.uri('bob'));
  await wait(bob, 'an incoming call', () => window.phone.calls.length === 1);
  mark('INVITE reached bob');
  await bob.page.evaluate(() => window.phone.answer());
  await wait(alice, 'confirmed', () => window.phone.state() === 'confirmed');
  await wait(bob, 'confirmed', () => window.phone.state() === 'confirmed');
  mark('call confirmed');

  // Each hears the other's tone for 1 s in a row (20 readings, 50 ms apart).
  await wait(alice, 'hearing 880 Hz', () => window.phone.hears(880, 20));
  await wait(bob, 'hearing 440 Hz', () => window.phone.hears(440, 20));
  const heard = await Promise.all([alice, bob].map((p) => p.page.evaluate(() => window.phone.samples.slice(-20))));
  const span = (s) => `${Math.min(...s.map((x) => x.freq))}..${Math.max(...s.map((x) => x.freq))} Hz, ` +
    `${Math.min(...s.map((x) => x.db))}..${Math.max(...s.map((x) => x.db))} dBFS`;
  check(true, `alice hears bob's 880 Hz (${span(heard[0])}); bob hears alice's 440 Hz (${span(heard[1])})`);
  mark('each hears the other');

  // DTMF by INFO, through the proxy inside the dialog.
  await alice.page.evaluate(() => window.phone.sendDTMF('1#', undefined, { duration: 100, interToneGap: 100 }));
  await wait(bob, 'DTMF 1 and #', () => window.phone.calls[0].dtmf.map((d) => d.tone).join('') === '1#');
  check(true, 'bob received DTMF 1 and # as INFO');

  // Hold and resume: re-INVITEs through the proxy. JsSIP mutes its
  // microphone while a call is held, on either side: both hear silence,
  // then each other's tone again.
  await alice.page.evaluate(() => window.phone.hold());
  await wait(bob, 'the remote hold', () => window.phone.calls[0].onHold);
  await wait(alice, 'the local hold', () => window.phone.calls[0].onHold);
  await wait(alice, 'silence on hold', () => window.phone.silent(10));
  await wait(bob, 'silence on hold', () => window.phone.silent(10));
  await alice.page.evaluate(() => window.phone.unhold());
  await wait(bob, 'the remote unhold', () => !window.phone.calls[0].onHold);
  await wait(alice, 'the local unhold', () => !window.phone.calls[0].onHold);
  await wait(alice, 'hearing 880 Hz after the hold', () => window.phone.hears(880, 20));
  await wait(bob, 'hearing 440 Hz after the hold', () => window.phone.hears(440, 20));
  check(true, 'hold and resume by re-INVITE: silence on hold, both tones back after it');
  mark('DTMF, hold, resume');

  await alice.page.evaluate(() => window.phone.hangup());
  await wait(alice, 'the end of the call', () => window.phone.calls[0].ended);
  await wait(bob, 'the end of the call', () => window.phone.calls[0].ended);
  mark('call ended');

  const [a, b] = await Promise.all([alice, bob].map((p) => p.page.evaluate(() => {
    const c = window.phone.calls[0];
    return { states: c.states, ended: c.ended, events: c.events, errors: window.phone.errors };
  })));
  const expectA = ['new', 'connecting', 'sending', 'progress', 'accepted', 'confirmed',
    'hold', 'unhold', 'ended'];
  const expectB = ['incoming', 'progress', 'connecting', 'accepted', 'confirmed',
    'reinvite', 'hold', 'reinvite', 'unhold', 'ended'];
  check(a.states.join() === expectA.join(), `alice's call states: ${a.states.join(' → ')} (expected ${expectA.join(' → ')})`);
  check(b.states.join() === expectB.join(), `bob's call states: ${b.states.join(' → ')} (expected ${expectB.join(' → ')})`);
  check(a.ended.originator === 'local' && b.ended.originator === 'remote' && b.ended.cause === 'Terminated',
    `alice ended it (alice: ${a.ended.originator}, bob: ${b.ended.originator} ${b.ended.cause})`);
  check(a.errors.length === 0 && b.errors.length === 0, `no errors in the pages (${[...a.errors, ...b.errors].join('; ')})`);

  // What went through the proxy, in order of arrival. The ACK of the 407
  // is left out: the sl module, which sent the 407 statelessly, absorbs it
  // before the script if it comes within 2 s, and the script drops it if
  // it comes later (a loaded machine).
  const inCall = kam.requests((r) => r.n >= callStart && r.method !== 'REGISTER');
  const challenged = inCall.find((r) => r.method === 'INVITE');
  const methods = inCall.filter((r) => !(r.method === 'ACK' && challenged && r.callId === challenged.callId &&
    r.cseq === challenged.cseq)).map((r) => r.method);
  check(methods.join(' ') === 'INVITE INVITE ACK INFO INFO INVITE ACK INVITE ACK BYE',
    `through Kamailio: the INVITE without and with credentials, its ACK, 2 INFOs, 2 re-INVITEs ` +
    `and their ACKs, the BYE (${methods.join(' ')})`);

  await moreCalls(kam, alice, bob, wait);

  for (const phone of [alice, bob])
    await phone.page.evaluate(() => window.phone.unregister());
  const left = await kam.locations();
  check(!left.alice && !left.bob, `pages unregistered: the location table is empty (${Object.keys(left).join(', ')})`);
  mark('pages unregistered');
}

// The other ways a call goes: a transfer request (REFER, NOTIFY), the
// callee hanging up, a cancelled call (CANCEL) and a refused one (486).
async function moreCalls (kam, alice, bob, wait) {
  const calls = (phone) => phone.page.evaluate(() => window.phone.calls.map((c) =>
    ({ direction: c.direction, states: c.states, ended: c.ended, referProgress: c.referProgress,
      referredTo: c.referredTo, events: c.events })));
  const start = kam.requests().length;

  // Bob calls alice; alice asks him (REFER) to call carol, who is not
  // registered: his INVITE gets 480, which he reports to alice in a NOTIFY.
  // Then alice, the callee, hangs up.
  await bob.page.evaluate((to) => window.phone.call(to), kam.uri('alice'));
  await wait(alice, 'the second call (from bob)', () => window.phone.calls.length === 2);
  await alice.page.evaluate(() => window.phone.answer());
  await wait(bob, 'the second call confirmed', () => window.phone.state(1) === 'confirmed');
  await wait(alice, 'the second call confirmed', () => window.phone.state(1) === 'confirmed');
  await alice.page.evaluate((to) => window.phone.refer(to), kam.uri('carol'));
  await wait(alice, 'the REFER\'s outcome (a NOTIFY with 480)',
    () => window.phone.calls[1].referProgress.some((p) => p.event === 'failed'));
  await wait(bob, 'the end of the call to carol', () => window.phone.calls.length === 3 && window.phone.calls[2].ended);
  await alice.page.evaluate(() => window.phone.hangup(1));
  await wait(alice, 'the end of the second call', () => window.phone.calls[1].ended);
  await wait(bob, 'the end of the second call', () => window.phone.calls[1].ended);
  let a = await calls(alice);
  let b = await calls(bob);
  const progress = a[1].referProgress.map((p) => `${p.event} ${p.code}`).sort().join(', ');
  check(progress === 'failed 480, requestSucceeded 202, trying 100',
    `REFER: 202 to alice, then NOTIFYs of 100 and 480 from bob's call to carol (${progress})`);
  check(b[1].states.includes('refer') && b[1].referredTo === kam.uri('carol') && b[2].direction === 'outgoing' &&
    b[2].ended && b[2].events.at(-1).code === 480,
  `REFER: bob was asked to call ${b[1].referredTo} and his call got ${b[2].events.at(-1).code} ` +
    `(${b[2].states.join(' → ')})`);
  check(a[1].ended.originator === 'local' && b[1].ended.originator === 'remote',
    `the callee hangs up: alice ${a[1].ended.originator}, bob ${b[1].ended.originator} ${b[1].ended.cause}`);
  mark('REFER, NOTIFY, callee hangs up');

  // Alice calls bob and hangs up while it rings: CANCEL.
  await alice.page.evaluate((to) => window.phone.call(to), kam.uri('bob'));
  await wait(alice, 'ringing (180)', () => window.phone.calls.length === 3 && window.phone.state(2) === 'progress');
  await alice.page.evaluate(() => window.phone.hangup(2));
  await wait(alice, 'the end of the cancelled call', () => window.phone.calls[2].ended);
  await wait(bob, 'the end of the cancelled call', () => window.phone.calls.length === 4 && window.phone.calls[3].ended);
  // Alice calls bob, who refuses: 486.
  await alice.page.evaluate((to) => window.phone.call(to), kam.uri('bob'));
  await wait(bob, 'the fifth call', () => window.phone.calls.length === 5 && window.phone.state(4) === 'progress');
  await bob.page.evaluate(() => window.phone.hangup(4, { status_code: 486 }));
  await wait(alice, 'the end of the refused call', () => window.phone.calls.length === 4 && window.phone.calls[3].ended);
  await wait(bob, 'the end of the refused call', () => window.phone.calls[4].ended);
  a = await calls(alice);
  b = await calls(bob);
  const end = (c) => `${c.states.at(-1)} (${c.ended.originator}, ${c.ended.cause})`;
  check(end(a[2]) === 'failed (local, Canceled)' && end(b[3]) === 'failed (remote, Canceled)',
    `cancelled while ringing: alice ${end(a[2])}, bob ${end(b[3])}`);
  check(end(a[3]) === 'failed (remote, Busy)' && end(b[4]) === 'failed (local, Rejected)',
    `refused with 486: alice ${end(a[3])}, bob ${end(b[4])}`);
  console.log(`call states: alice ${a.slice(1).map((c) => c.states.join(' → ')).join(' | ')}; ` +
    `bob ${b.slice(1).map((c) => c.states.join(' → ')).join(' | ')}`);

  const methods = kam.requests((r) => r.n >= start).map((r) => r.method);
  const count = (m) => methods.filter((x) => x === m).length;
  check(count('REFER') === 1 && count('NOTIFY') >= 2 && count('CANCEL') === 1,
    `through Kamailio: 1 REFER, ${count('NOTIFY')} NOTIFYs, 1 CANCEL (${methods.join(' ')})`);
  mark('CANCEL, 486');
}

async function main () {
  const kam = await startKamailio();
  cleanups.push(() => kam.stop());
  mark(`Kamailio up (${kam.url}, domain ${kam.domain})`);
  // The Node UAs close their WebSockets meanwhile.
  const nodeUAs = await nodeRegistration(kam);
  await md5Challenge(kam);
  await sha256();
  await browserCall(kam);
  await nodeUAs.closed;
  kam.assertAlive();
}

try {
  await main();
} catch (e) {
  failures.push(e.stack || e.message);
} finally {
  await cleanup();
}
console.log(`total: ${Date.now() - t0} ms`);
verdict(failures);
