// SPDX-License-Identifier: LGPL-2.1-or-later
// The page around VoiceClient: settings, buttons, state, level meter, events.
// ?secret=URL and ?calls=URL in the page's address override the defaults.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  if (params.get('secret'))
    $('secret-url').value = params.get('secret');
  if (params.get('calls'))
    $('calls-url').value = params.get('calls');

  let client = null;
  const maxListed = 50;

  function addLine (list, text) {
    const item = document.createElement('li');
    item.textContent = text;
    list.prepend(item);
    while (list.children.length > maxListed)
      list.lastElementChild.remove();
  }

  function log (text) {
    const time = new Date().toLocaleTimeString();
    addLine($('log'), time + '  ' + text);
  }

  function showState (state, detail) {
    $('state').textContent = state;
    $('state').dataset.state = state;
    $('state-detail').textContent = detail ? '(' + detail + ')' : '';
    const active = state !== 'idle' && state !== 'disconnected';
    $('call').disabled = active;
    $('hangup').disabled = !active;
    $('reply').disabled = state !== 'connected';
    $('settings').querySelectorAll('input').forEach(i => { i.disabled = active; });
    log('state: ' + state + (detail ? ' (' + detail + ')' : ''));
  }

  function showLevel (db) {
    $('level').value = Math.max(-90, db);
    $('level-text').textContent = db <= -120 ? '−∞ dBFS' : db.toFixed(1) + ' dBFS';
  }

  $('call').addEventListener('click', () => {
    if (!$('settings').reportValidity())
      return;
    client = new VoiceClient({
      secretUrl: $('secret-url').value,
      callsUrl: $('calls-url').value,
      audioElement: $('agent-audio'),
    });
    window.voiceClient = client;
    $('events').replaceChildren();
    client.addEventListener('state', (e) => {
      showState(e.detail.state, e.detail.detail);
      $('secrets').textContent = client.secretsUsed;
      if (e.detail.state === 'disconnected')
        showLevel(-120);
    });
    client.addEventListener('log', (e) => log(e.detail));
    client.addEventListener('level', (e) => showLevel(e.detail));
    client.addEventListener('server-event', (e) => {
      const event = e.detail;
      let text = event.type;
      if (event.type === 'error' && event.error)
        text += ': ' + (event.error.code || '') + ' ' + (event.error.message || '');
      else if (event.type === 'response.output_audio_transcript.done')
        text += ': ' + event.transcript;
      addLine($('events'), text);
    });
    client.start();
  });

  $('reply').addEventListener('click', () => {
    if (client)
      client.send({ type: 'response.create' });
  });

  $('hangup').addEventListener('click', () => {
    if (client)
      client.hangUp();
  });

  // Leaving the page hangs up, so that the microphone is not left open.
  window.addEventListener('pagehide', () => {
    if (client)
      client.hangUp();
  });
})();
