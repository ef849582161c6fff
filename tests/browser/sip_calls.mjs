// SPDX-License-Identifier: LGPL-2.1-or-later
// sipphone's calls against real peers: Kamailio as registrar and proxy,
// JsSIP in Chromium as the far end (tests/sip). The element runs in an
// application (sip_app.py) with a 660 Hz microphone; the page's is 440 Hz.
// What is checked is what a user notices: who hears whom (by frequency),
// each end's state sequence, digits, hold, and how a call ends.
import { createRequire } from 'node:module';
import { startKamailio } from '../sip/kamailio.mjs';
import { servePhone, openPhone } from '../sip/phone.mjs';
import { parseMessage } from '../sip/raw.mjs';
import { startApp } from './sip_app.mjs';
import { launch, verdict } from './browser.mjs';
import { checker, until } from './checks.mjs';

const { WebSocketServer } = createRequire(import.meta.url)('ws');
const { check, failures } = checker();
const only = process.env.SIP_SCENARIOS ? process.env.SIP_SCENARIOS.split(',') : null;


const inPage = (phone, fn, arg) => phone.page.evaluate(fn, arg);
const pageUntil = (phone, what, fn, arg, ms = 15000) =>
  until(() => inPage(phone, fn, arg), ms, `${phone.name}: ${what}`);

// The states a call went through, repeated ones once.
const sequence = (states) => states.filter((s, i) => s !== states[i - 1]);

// A scenario's cast: the element's application (bob) and registered pages
// (name, tone); each dumped when the scenario fails, all closed after it.
// appFirst: bob registers before the pages (a page calls him); otherwise
// after them (he dials one).
async function withCast ({ kam, browser, server }, { env = {}, pages = [['alice', 440]], appFirst = true }, body) {
  let app = appFirst ? startApp(kam, 'bob', env) : null;
  const phones = {};
  try {
    if (app) await app.untilState('registered', 30000);
    for (const [name, tone] of pages) {
      phones[name] = await openPhone(browser, server, { name, tone });
      await inPage(phones[name], (o) => window.phone.register(o),
        { uri: kam.uri(name), password: kam.users[name], ws: kam.url });
    }
    if (!app) app = startApp(kam, 'bob', env);
    await body(app, phones);
  } catch (e) {
    for (const p of Object.values(phones)) console.log(await p.dump());
    if (app) console.log(app.dump());
    throw e;
  } finally {
    for (const p of Object.values(phones)) await p.close();
    if (app) await app.stop();
  }
}

async function pageCalls (ctx) {
  await withCast(ctx, {}, async (app, { alice }) => {
    await inPage(alice, (to) => window.phone.call(to), kam.uri('bob'));
    const incoming = await app.untilEvent((e) => e.ev === 'incoming', 15000, 'incoming-call');
    check(incoming.frm === kam.uri('alice') && incoming.call_id.length > 0,
      `page calls: incoming-call names the caller (${incoming.frm}, call id ${incoming.call_id})`);
    await app.untilState('ringing');
    await pageUntil(alice, 'ringback', () => window.phone.calls[0].states.includes('progress'));
    check(await app.act('answer'), 'page calls: answer is taken');
    await app.untilState('connected');
    await pageUntil(alice, 'confirmed', () => window.phone.state() === 'confirmed');
    await until(() => app.hears(440), 15000, 'the application hearing 440 Hz');
    await pageUntil(alice, 'hearing 660 Hz', () => window.phone.hears(660, 20));
    check(true, 'page calls: the application hears the page\'s 440 Hz, the page hears the application\'s 660 Hz');
    check(JSON.stringify(sequence(app.states())) === JSON.stringify(['registering', 'registered', 'ringing', 'connected']),
      `page calls: the element's states ${sequence(app.states()).join(' → ')}`);
    const pageStates = await inPage(alice, () => window.phone.calls[0].states);
    check(['progress', 'accepted', 'confirmed'].every((s) => pageStates.includes(s)),
      `page calls: the page's states ${pageStates.join(' → ')}`);

    // Digits from the page: SIP INFO, then RFC 4733 in the media.
    await inPage(alice, () => window.phone.sendDTMF('1#', undefined, { duration: 100, interToneGap: 100 }));
    await app.untilEvent((e) => e.ev === 'dtmf' && e.digit === '#' && e.method === 'info', 10000, 'digits by INFO');
    await inPage(alice, () => window.phone.sendDTMF('7', undefined, { transportType: 'RFC2833', duration: 160 }));
    await app.untilEvent((e) => e.ev === 'dtmf' && e.digit === '7' && e.method === 'rtp', 10000, 'a digit by RFC 4733');
    // The downstream event travels with the audio, behind what the source
    // holds: it comes after the signal.
    await app.untilEvent((e) => e.ev === 'dtmf-event' && e.number === 7, 5000, 'the digit 7 downstream');
    const digits = app.events.filter((e) => e.ev === 'dtmf').map((e) => `${e.digit}/${e.method}`);
    const downstream = app.events.filter((e) => e.ev === 'dtmf-event').map((e) => `${e.number}/${e.method}`);
    check(digits.join(' ') === '1/info #/info 7/rtp', `page calls: dtmf-received ${digits.join(' ')}`);
    check(downstream.join(' ') === '1/2 11/2 7/1', `page calls: dtmf-event downstream ${downstream.join(' ')}`);
    // Digits to the page, by INFO.
    check(await app.act('set', 'dtmf-method', 'info'), 'page calls: dtmf-method set to info');
    check(await app.act('send-dtmf', '42'), 'page calls: send-dtmf taken');
    await pageUntil(alice, 'two digits', () => window.phone.calls[0].dtmf.filter((d) => d.originator === 'remote').length === 2);
    const got = await inPage(alice, () => window.phone.calls[0].dtmf.filter((d) => d.originator === 'remote').map((d) => d.tone).join(''));
    check(got === '42', `page calls: the page receives the digits ${got}`);

    // The page holds: both sides go quiet, then hear each other again.
    await inPage(alice, () => window.phone.hold());
    await app.untilState('held');
    await until(() => app.silent(), 10000, 'the application hearing nothing on hold');
    await pageUntil(alice, 'silence on hold', () => window.phone.silent(10));
    await inPage(alice, () => window.phone.unhold());
    await app.untilState('connected');
    await until(() => app.hears(440), 10000, 'the application hearing 440 Hz again');
    await pageUntil(alice, 'hearing 660 Hz again', () => window.phone.hears(660, 10));
    check(true, 'page calls: held by the page, both sides silent; resumed, both hear again');
    // The element holds.
    check(await app.act('hold'), 'page calls: hold taken');
    await app.untilState('held');
    await pageUntil(alice, 'held by the element', () => window.phone.calls[0].states.includes('hold'));
    await pageUntil(alice, 'silence while held', () => window.phone.silent(10));
    check(await app.act('resume'), 'page calls: resume taken');
    await app.untilState('connected');
    await pageUntil(alice, 'hearing 660 Hz after resume', () => window.phone.hears(660, 10));
    check(true, 'page calls: held by the element and resumed');
    // Muted: the page hears silence while the call goes on; unmuted, the tone.
    check(await app.act('set', 'mute', true), 'page calls: mute set');
    await pageUntil(alice, 'silence while muted', () => window.phone.silent(10));
    const stillSent = (await app.act('stats'))['audio-buffers-out'];
    await until(async () => (await app.act('stats'))['audio-buffers-out'] > stillSent + 10, 5000,
      'audio still sent while muted');
    check(await app.act('set', 'mute', false), 'page calls: mute unset');
    await pageUntil(alice, 'hearing 660 Hz after unmute', () => window.phone.hears(660, 10));
    check(true, 'page calls: muted, the page hears silence while the media flow on; unmuted, the tone again');

    const stats = await app.act('stats');
    check(stats['calls-in'] === 1 && stats['audio-buffers-in'] > 100 && stats['audio-buffers-out'] > 100 &&
      stats['dtmf-in'] === 3 && stats['dtmf-out'] === 2 && stats['call-duration-ms'] > 1000,
    `page calls: stats count the call (${JSON.stringify(stats)})`);
    // The page hangs up.
    await inPage(alice, () => window.phone.hangup());
    const ended = await app.untilEvent((e) => e.ev === 'state' && e.state === 'ended', 10000, 'ended');
    check(/far end hung up/.test(ended.reason), `page calls: a BYE from the page ends the call ("${ended.reason}")`);
  });
}

async function elementCalls (ctx) {
  await withCast(ctx, { env: { DIAL: ctx.kam.uri('alice') }, appFirst: false }, async (app, { alice }) => {
    await pageUntil(alice, 'an incoming call', () => window.phone.calls.length === 1);
    await app.untilState('ringing');
    await inPage(alice, () => window.phone.answer());
    await app.untilState('connected');
    await until(() => app.hears(440), 15000, 'the application hearing 440 Hz');
    await pageUntil(alice, 'hearing 660 Hz', () => window.phone.hears(660, 20));
    check(JSON.stringify(sequence(app.states())) === JSON.stringify(['registering', 'registered', 'calling', 'ringing', 'connected']),
      `element calls (dial=): its states ${sequence(app.states()).join(' → ')}; each hears the other`);
    // A 407 challenge to the INVITE was answered on the way.
    const invites = kam.requests((r) => r.method === 'INVITE' && r.from === kam.uri('bob') &&
      r.ruri === kam.uri('alice'));
    check(invites.length === 2, `element calls: the INVITE answered Kamailio's challenge (${invites.length} INVITEs)`);
    check(await app.act('hangup'), 'element calls: hangup taken');
    await pageUntil(alice, 'the end', () => window.phone.calls[0].ended);
    const end = await inPage(alice, () => window.phone.calls[0].ended);
    check(end.originator === 'remote', `element calls: a BYE from the element ends it at the page (${JSON.stringify(end)})`);
    await app.untilState('ended');

    // Cancelled while ringing.
    check(await app.act('call', kam.uri('alice')), 'cancel: call taken');
    await pageUntil(alice, 'a second call', () => window.phone.calls.length === 2);
    await app.untilState('ringing');
    check(await app.act('hangup'), 'cancel: hangup taken while ringing');
    await pageUntil(alice, 'the cancel', () => window.phone.calls[1].ended);
    const cancelled = await inPage(alice, () => window.phone.calls[1].ended);
    check(cancelled.cause === 'Canceled', `cancel: the page's call ends as ${cancelled.cause}`);
    await app.untilState('ended');

    // Refused: 486, then 603.
    for (const [status, cause] of [[486, 'Busy'], [603, 'Rejected']]) {
      const n = app.events.length;
      const k = await inPage(alice, () => window.phone.calls.length);
      check(await app.act('call', kam.uri('alice')), `${status}: call taken`);
      await pageUntil(alice, 'another call', (m) => window.phone.calls.length === m + 1, k);
      await app.untilState('ringing');
      await inPage(alice, (s) => window.phone.hangup(undefined, { status_code: s }), status);
      const ended = await app.untilEvent((e, i) => i >= n && e.ev === 'state' && e.state === 'ended', 10000, `${status}`);
      check(ended.status === status, `${status}: the call ends with ${ended.status} ${ended.reason} (page: ${cause})`);
    }
  });
}

// A microphone that is not live, as a file would be: the element takes its
// audio at the pipeline's pace, and the page hears the tone steadily, not a
// burst of it followed by silence.
async function notLive (ctx) {
  await withCast(ctx, { env: { DIAL: ctx.kam.uri('alice'), LIVE: '0' }, appFirst: false }, async (app, { alice }) => {
    await pageUntil(alice, 'an incoming call', () => window.phone.calls.length === 1);
    await inPage(alice, () => window.phone.answer());
    await app.untilState('connected');
    await pageUntil(alice, 'hearing 660 Hz for 3 s', () => window.phone.hears(660, 60));
    const stats = await app.act('stats');
    const duration = stats['call-duration-ms'];
    // 20 ms buffers: about 50 a second of the call, not thousands.
    check(stats['audio-buffers-out'] < 60 * (duration / 1000 + 1),
      `not live: the element sends at the pace of the call (${stats['audio-buffers-out']} buffers in ${duration} ms)`);
    check(true, 'not live: the page hears the application\'s 660 Hz steadily for 3 s');
    check(await app.act('hangup'), 'not live: hangup taken');
    await app.untilState('ended');
  });
}

// G.711 only: the page offers PCMU alone; the element answers with it,
// and a second caller meanwhile gets 486 Busy Here.
async function g711AndBusy (ctx) {
  await withCast(ctx, { env: { AUTO_ANSWER: '1' }, pages: [['alice', 440], ['carol', 550]] }, async (app, { alice, carol }) => {
    await inPage(alice, (to) => { window.phone.codecs = ['PCMU']; window.phone.call(to); }, kam.uri('bob'));
    await app.untilState('connected');
    await until(() => app.hears(440), 15000, 'the application hearing 440 Hz');
    await pageUntil(alice, 'hearing 660 Hz', () => window.phone.hears(660, 20));
    const answer = await inPage(alice, () => window.phone.calls[0].remoteSdp || '');
    const formats = (/^m=audio \d+ \S+ (.*)$/m.exec(answer) || [])[1];
    check(/a=rtpmap:0 PCMU\/8000/i.test(answer) && !/opus/i.test(answer),
      `g711: the element answers PCMU (m=audio formats ${formats}); each hears the other`);
    // A second caller while the line is busy.
    await inPage(carol, (to) => window.phone.call(to), kam.uri('bob'));
    await pageUntil(carol, 'the refusal', () => window.phone.calls[0] && window.phone.calls[0].ended);
    const refused = await inPage(carol, () => window.phone.calls[0]);
    const code = refused.events.find((e) => e.event === 'failed')?.code;
    check(code === 486 && refused.ended.cause === 'Busy',
      `busy: a second caller gets ${code} (${refused.ended.cause}) while the call goes on`);
    const stats = await app.act('stats');
    check(stats.busy === 1 && app.state() === 'connected', `busy: counted (${stats.busy}), the first call still connected`);
  });
}

// Two sipphones call each other through Kamailio: bob answers from his
// incoming-call handler, alice dials him; each hears the other's tone, and alice's hangup ends
// bob's call.
async function twoPhones ({ kam }) {
  const bob = startApp(kam, 'bob', { ANSWER_IN_HANDLER: '1', TONE: '660' });
  await bob.untilState('registered', 30000);
  const alice = startApp(kam, 'alice', { DIAL: kam.uri('bob'), TONE: '440' });
  try {
    // A process's start is the slow part on a loaded machine; the call's
    // steps after it get their own bound.
    await alice.untilEvent((e) => e.ev === 'state' && e.state === 'registered', 30000, 'alice registered');
    await alice.untilState('connected');
    await bob.untilState('connected');
    await until(() => bob.hears(440), 15000, 'bob hearing 440 Hz');
    await until(() => alice.hears(660), 15000, 'alice hearing 660 Hz');
    const answered = bob.events.find((e) => e.ev === 'result' && e.action === 'answer');
    check(answered && answered.value === true, 'two phones: bob answers from his incoming-call handler; each hears the other');
    check(await alice.act('hangup'), 'two phones: hangup taken');
    const ended = await bob.untilEvent((e) => e.ev === 'state' && e.state === 'ended', 10000, 'bob ended');
    check(/far end hung up/.test(ended.reason), `two phones: alice's BYE ends bob's call ("${ended.reason}")`);
    check(JSON.stringify(sequence(bob.states())) === JSON.stringify(['registering', 'registered', 'ringing', 'connected', 'ended']),
      `two phones: bob's states ${sequence(bob.states()).join(' → ')}`);
  } catch (e) {
    console.log(alice.dump());
    console.log(bob.dump());
    throw e;
  } finally {
    await alice.stop();
    await bob.stop();
  }
}

// Session timers (RFC 4028): JsSIP asks for 90 s, the shortest it takes,
// and refreshes at half of it by UPDATE; the call outlives the refresh
// with audio both ways.
async function sessionTimer (ctx) {
  await withCast(ctx, { env: { AUTO_ANSWER: '1' } }, async (app, { alice }) => {
    await inPage(alice, (to) => window.phone.call(to, { sessionTimersExpires: 90 }), kam.uri('bob'));
    await app.untilState('connected');
    const t = Date.now();
    // In this call's dialog: to bob's contact, not to his address of record.
    const { call_id: callId } = app.events.find((e) => e.ev === 'incoming');
    const refreshes = () => kam.requests((r) => (r.method === 'UPDATE' || r.method === 'INVITE') &&
      r.callId === callId && r.ruri.includes('.invalid'));
    await until(() => refreshes().length > 0, 60000, 'a session refresh from the page');
    const after = ((Date.now() - t) / 1000).toFixed(0);
    await until(() => app.hears(440), 10000, 'the application hearing 440 Hz after the refresh');
    await pageUntil(alice, 'hearing 660 Hz after the refresh', () => window.phone.hears(660, 10));
    const states = await inPage(alice, () => window.phone.calls[0].states);
    check(app.state() === 'connected' && !states.includes('ended') && !states.includes('failed'),
      `session timer: the page refreshed by ${refreshes()[0].method} after ${after} s; the call goes on, both hear`);
    await inPage(alice, () => window.phone.hangup());
    await app.untilState('ended');
  });
}

// Malformed SIP from the network: a registrar of the test's own (Kamailio
// would not pass these on) registers the element, then sends what a broken
// or hostile peer might. Each is dropped and counted, or answered (400,
// 488, 481); the line stays registered and answers OPTIONS after all of it.
async function malformed () {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'sip' });
  await new Promise((resolve) => wss.on('listening', resolve));
  const url = `ws://127.0.0.1:${wss.address().port}`;
  let ws = null;
  const received = [];
  wss.on('connection', (socket) => {
    ws = socket;
    socket.on('message', (data) => {
      const text = data.toString();
      if (text.trim() === '') return; // a keep-alive
      const m = parseMessage(text);
      received.push(m);
      if (m.first.startsWith('REGISTER ')) {
        socket.send([`SIP/2.0 200 OK`, ...m.all.via.map((v) => `Via: ${v}`),
          `From: ${m.headers.from}`, `To: ${m.headers.to};tag=reg1`, `Call-ID: ${m.headers['call-id']}`,
          `CSeq: ${m.headers.cseq}`, `Contact: ${m.headers.contact}`, 'Content-Length: 0', '', ''].join('\r\n'));
      }
    });
  });
  const fake = { url, uri: (u) => `sip:${u}@sip.test`, users: { bob: 'unused' } };
  const app = startApp(fake, 'bob', { AUTO_ANSWER: '1' });
  const request = (method, { callId = `bad-${method}-${Date.now()}`, contact = true, body = '', type = null, extra = [] } = {}) => [
    `${method} sip:bob@sip.test SIP/2.0`, 'Via: SIP/2.0/WS x.invalid;branch=z9hG4bK' + callId,
    'From: <sip:mallory@sip.test>;tag=m1', 'To: <sip:bob@sip.test>', `Call-ID: ${callId}`, `CSeq: 1 ${method}`,
    'Max-Forwards: 70', ...(contact ? ['Contact: <sip:mallory@y.invalid;transport=ws>'] : []),
    ...(type ? [`Content-Type: ${type}`] : []), ...extra, `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n');
  const replyTo = (callId) => until(() => received.find((m) => m.status >= 200 && m.headers['call-id'] === callId),
    10000, `a final answer for ${callId}`);
  try {
    await app.untilState('registered');
    const before = await app.act('stats');
    const drops = [
      ['garbage', 'this is not SIP\r\n\r\n'],
      ['no Call-ID', request('OPTIONS').replace(/Call-ID: [^\r]*\r\n/, '')],
      ['Content-Length beyond the body', request('MESSAGE', { body: 'hi', type: 'text/plain' }).replace('Content-Length: 2', 'Content-Length: 9999')],
      ['200 headers', request('OPTIONS', { extra: Array.from({ length: 200 }, (_, i) => `X-H${i}: ${i}`) })],
      ['CSeq method not the request\'s', request('OPTIONS').replace('CSeq: 1 OPTIONS', 'CSeq: 1 INVITE')],
      ['a header line without a colon', request('OPTIONS').replace('Max-Forwards: 70', 'Max-Forwards 70')],
    ];
    for (const [, text] of drops) ws.send(text);
    ws.send(Buffer.from([0xff, 0xfe, 0x00, 0x53, 0x49, 0x50]), { binary: true });
    // Answered: an INVITE without a Contact (400), one whose offer has no
    // codec this phone has (488, auto-answer on), an INFO of a call that
    // does not exist (481).
    ws.send(request('INVITE', { callId: 'no-contact', contact: false, body: 'v=0\r\n', type: 'application/sdp' }));
    ws.send(request('INVITE', { callId: 'bad-sdp', body: 'v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 nonsense/1\r\n', type: 'application/sdp' }));
    ws.send(request('INFO', { callId: 'stray-info', body: 'Signal=5\r\n', type: 'application/dtmf-relay' })
      .replace('To: <sip:bob@sip.test>', 'To: <sip:bob@sip.test>;tag=gone'));
    const answers = {};
    for (const id of ['no-contact', 'bad-sdp', 'stray-info']) answers[id] = (await replyTo(id)).status;
    check(answers['no-contact'] === 400 && answers['bad-sdp'] === 488 && answers['stray-info'] === 481,
      `malformed: answered ${JSON.stringify(answers)}`);
    // Still alive and registered: an OPTIONS is answered 200.
    ws.send(request('OPTIONS', { callId: 'alive' }));
    const alive = await replyTo('alive');
    const after = await app.act('stats');
    const dropped = after.malformed - before.malformed;
    check(alive.status === 200 && app.state() !== 'failed' && dropped === drops.length + 1,
      `malformed: ${dropped} frames dropped and counted (${drops.map((d) => d[0]).join(', ')}, a binary frame ` +
      `that is not UTF-8 SIP); the line answers OPTIONS ${alive.status} after them`);
    check(app.events.some((e) => e.ev === 'warning' && /codec/.test(e.message)),
      'malformed: the offer without a usable codec is a warning on the bus');
    // A frame over the transport's 64 KiB bound: the WebSocket is closed
    // (libsoup drops the connection, not the message); the line connects
    // and registers again, and answers on the new connection.
    const first = ws;
    const registers = received.filter((m) => m.first.startsWith('REGISTER ')).length;
    first.send(request('MESSAGE', { body: 'x'.repeat(70 * 1024), type: 'text/plain' }));
    await until(() => ws !== first && received.filter((m) => m.first.startsWith('REGISTER ')).length > registers &&
      app.state() === 'registered', 20000, 'the line registered again after the oversized frame');
    ws.send(request('OPTIONS', { callId: 'alive-again' }));
    check((await replyTo('alive-again')).status === 200,
      'malformed: a 70 KiB frame closes the connection; the line registers again and answers on the new one');
  } catch (e) {
    console.log(app.dump());
    throw e;
  } finally {
    await app.stop();
    wss.close();
  }
}

const scenarios = { pageCalls, elementCalls, notLive, g711AndBusy, twoPhones, malformed, sessionTimer };
const kam = await startKamailio({ users: { alice: 'alice-secret', bob: 'bob-secret', carol: 'carol-secret' } });
const browser = await launch();
const server = await servePhone();
try {
  for (const [name, run] of Object.entries(scenarios)) {
    if (only && !only.includes(name)) continue;
    console.log('--- ' + name);
    const t = Date.now();
    try {
      await run({ kam, browser, server });
    } catch (e) {
      check(false, `${name}: ${e.message}`);
      console.log(kam.tail ? kam.tail(30) : '');
    }
    console.log(`(${name}: ${((Date.now() - t) / 1000).toFixed(1)} s)`);
  }
} finally {
  await browser.close();
  await server.close();
  await kam.stop();
}
verdict(failures);
