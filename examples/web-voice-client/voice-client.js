// SPDX-License-Identifier: LGPL-2.1-or-later
// A voice call with a realtime agent from a web page, over WebRTC.
//
// The page never holds the permanent API key: before every connection
// attempt it asks the GStreamer application's ephemeraltokenprovider for a
// fresh ek_ secret (POST secretUrl), then posts its SDP offer straight to the
// realtime service (POST callsUrl, "Authorization: Bearer ek_..."). One POST
// is the whole signalling exchange, as the service has no trickle ICE.
//
// States: idle → connecting → connected; a dropped call goes reconnecting
// (a new secret, a new peer connection, after a jittered backoff) and back to
// connected; hang-up, a fault no retry can cure, or too many failed attempts
// end in disconnected. Every resource (microphone tracks, peer connection,
// audio graph, timers) is released on the way to disconnected.
'use strict';

class VoiceClient extends EventTarget {
  constructor (options = {}) {
    super();
    this.secretUrl = options.secretUrl;
    this.callsUrl = options.callsUrl;
    // The backoff: each wait drawn uniformly below min(cap, initial × 2^(n−1)),
    // so that many clients dropped together do not come back together.
    this.backoffInitialMs = options.backoffInitialMs ?? 500;
    this.backoffCapMs = options.backoffCapMs ?? 10000;
    this.maxAttempts = options.maxAttempts ?? 6;   // failed in a row, then disconnected
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10000;
    // ICE may report "disconnected" for a moment on a healthy call.
    this.iceGraceMs = options.iceGraceMs ?? 2000;
    this.stableMs = options.stableMs ?? 10000;

    this.state = 'idle';
    this.stateHistory = ['idle'];
    this.lastError = '';
    this.events = [];          // server events, newest last (bounded)
    this.eventCounts = {};
    this.secretsUsed = 0;
    this.attempt = 0;          // failed attempts in a row
    this.level = { current: -120, max: -120 };  // agent audio, dBFS

    this._mic = null;          // MediaStream of the microphone
    this._tracks = [];         // every track the current call opened
    this._lastPc = null;       // the last peer connection closed
    this._connectedAt = 0;
    this._pc = null;
    this._channel = null;
    this._audio = options.audioElement || null;
    this._audioContext = null;
    this._analyser = null;
    this._source = null;
    this._levelTimer = 0;
    this._retryTimer = 0;
    this._connectTimer = 0;
    this._graceTimer = 0;
    this._generation = 0;      // identifies the current attempt; late news of older ones is dropped
    this._abort = null;        // aborts the current attempt's HTTP requests
  }

  // Starts a call. Must be called from a user gesture (a click) so that the
  // page may play audio and open the microphone.
  async start () {
    if (this.state !== 'idle' && this.state !== 'disconnected')
      return;
    this.attempt = 0;
    this.lastError = '';
    this.events = [];
    this.eventCounts = {};
    this.level = { current: -120, max: -120 };
    this._setState('connecting');
    // Made inside the click, so that the page may play the agent's voice.
    this._audioContext = new AudioContext();
    let mic;
    try {
      mic = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      if (this.state === 'connecting')
        this._finish('no microphone: ' + e.message);
      return;
    }
    if (this.state !== 'connecting') {  // hung up while the browser asked
      for (const track of mic.getTracks())
        track.stop();
      return;
    }
    this._mic = mic;
    this._tracks = mic.getTracks();
    this._levelTimer = setInterval(() => this._measure(), 100);
    this._connect();
  }

  // Hangs up and releases everything.
  hangUp () {
    if (this.state === 'idle' || this.state === 'disconnected')
      return;
    this._finish('');
  }

  // Sends a client event on the oai-events channel; false when it is not open.
  send (event) {
    if (!this._channel || this._channel.readyState !== 'open')
      return false;
    this._channel.send(JSON.stringify(event));
    return true;
  }

  // What the page still holds, for the curious and for tests. After a
  // hang-up: no microphone, peer connection, channel, audio graph or timer,
  // every track ended and the last peer connection closed.
  resources () {
    const last = this._pc || this._lastPc;
    return {
      microphone: !!this._mic,
      tracks: this._tracks.map(t => t.readyState),
      peerConnection: !!this._pc,
      lastPeerConnection: last ? last.signalingState : null,
      channel: this._channel ? this._channel.readyState : null,
      audioContext: this._audioContext ? this._audioContext.state : null,
      audioPlaying: !!(this._audio && this._audio.srcObject),
      timers: [this._levelTimer, this._retryTimer, this._connectTimer, this._graceTimer]
        .filter(t => t).length,
    };
  }

  _setState (state, detail = '') {
    if (state === this.state)
      return;
    this.state = state;
    this.stateHistory.push(state);
    this.dispatchEvent(new CustomEvent('state', { detail: { state, detail } }));
  }

  _log (text) {
    this.dispatchEvent(new CustomEvent('log', { detail: text }));
  }

  // One connection attempt: a fresh secret, a fresh peer connection.
  async _connect () {
    const generation = ++this._generation;
    const current = () => generation === this._generation &&
      (this.state === 'connecting' || this.state === 'reconnecting');
    this._abort = new AbortController();
    const signal = this._abort.signal;
    this._connectTimer = setTimeout(() => {
      this._connectTimer = 0;
      if (current())
        this._fault('not connected within ' + this.connectTimeoutMs + ' ms', false);
    }, this.connectTimeoutMs);

    let secret;
    try {
      secret = await this._fetchSecret(signal);
    } catch (e) {
      if (current())
        this._fault(e.message, e.fatal, e.retryAfterMs);
      return;
    }
    if (!current())
      return;
    this.secretsUsed++;

    const pc = new RTCPeerConnection();
    this._pc = pc;
    for (const track of this._mic.getAudioTracks())
      pc.addTrack(track, this._mic);
    // The service's events travel on this channel; it must exist before the offer.
    const channel = pc.createDataChannel('oai-events');
    this._channel = channel;
    channel.onopen = () => {
      if (generation !== this._generation)
        return;
      clearTimeout(this._connectTimer);
      this._connectTimer = 0;
      this._connectedAt = performance.now();
      this._setState('connected');
    };
    // Our own closes come with the handlers removed: this is the far end's.
    channel.onclose = () => {
      if (generation === this._generation)
        this._fault('the events channel closed', false);
    };
    channel.onmessage = (e) => this._onEvent(e.data);
    pc.ontrack = (e) => {
      if (generation === this._generation)
        this._playAgent(e.streams[0] || new MediaStream([e.track]));
    };
    pc.onconnectionstatechange = () => {
      if (generation !== this._generation)
        return;
      if (pc.connectionState === 'failed')
        this._fault('the peer connection failed', false);
    };
    pc.oniceconnectionstatechange = () => {
      if (generation !== this._generation)
        return;
      clearTimeout(this._graceTimer);
      this._graceTimer = 0;
      if (pc.iceConnectionState === 'disconnected') {
        this._graceTimer = setTimeout(() => {
          this._graceTimer = 0;
          if (generation === this._generation)
            this._fault('the network went away', false);
        }, this.iceGraceMs);
      }
    };

    try {
      // No waiting for candidates: the service learns the page's address from
      // its connectivity checks, as with the official browser SDK.
      await pc.setLocalDescription(await pc.createOffer());
      const answer = await this._postOffer(pc.localDescription.sdp, secret, signal);
      if (!current())
        return;
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    } catch (e) {
      if (current())
        this._fault(e.message, e.fatal, e.retryAfterMs);
    }
  }

  async _fetchSecret (signal) {
    let response;
    try {
      // A simple POST with no body: nothing the provider needs comes from the page.
      response = await fetch(this.secretUrl, { method: 'POST', cache: 'no-store', signal });
    } catch (e) {
      throw this._error('the secret endpoint cannot be reached (' + e.message + ')', false);
    }
    if (!response.ok) {
      const why = await this._errorText(response);
      // A 4xx other than 408 and 429 (e.g. 403, this page's origin is not
      // allowed) is mended by the settings, not by retrying.
      throw this._error('no secret: HTTP ' + response.status + (why ? ' (' + why + ')' : ''),
        this._fatalStatus(response.status), this._retryAfterMs(response));
    }
    const body = await response.json();
    if (typeof body.value !== 'string' || !body.value)
      throw this._error('the secret endpoint answered without a secret', false);
    return body.value;
  }

  async _postOffer (sdp, secret, signal) {
    let response;
    try {
      response = await fetch(this.callsUrl, {
        method: 'POST',
        body: sdp,
        headers: { 'Authorization': 'Bearer ' + secret, 'Content-Type': 'application/sdp' },
        signal,
      });
    } catch (e) {
      throw this._error('the realtime service cannot be reached (' + e.message + ')', false);
    }
    // The status first: error bodies are JSON, not SDP.
    if (response.status !== 201 && response.status !== 200) {
      const why = await this._errorText(response);
      const s = response.status;
      throw this._error('the call was refused: HTTP ' + s + (why ? ' (' + why + ')' : ''),
        this._fatalStatus(s), this._retryAfterMs(response));
    }
    const answer = await response.text();
    if (!answer.startsWith('v=0'))
      throw this._error('the answer is not SDP', false);
    return answer;
  }

  async _errorText (response) {
    try {
      const body = await response.json();
      return (body.error && body.error.message) || '';
    } catch (e) {
      return '';
    }
  }

  // Refusals that retrying cannot cure: a bad or expired key, a bad request.
  // 408 and 429 pass with time; 5xx are the service's own trouble.
  _fatalStatus (status) {
    return status >= 400 && status < 500 && status !== 408 && status !== 429;
  }

  _retryAfterMs (response) {
    const s = Number.parseInt(response.headers.get('Retry-After') || '', 10);
    return Number.isFinite(s) && s >= 0 ? s * 1000 : 0;
  }

  _error (message, fatal, retryAfterMs = 0) {
    const e = new Error(message);
    e.fatal = fatal;
    e.retryAfterMs = retryAfterMs;
    return e;
  }

  _onEvent (text) {
    let event;
    try {
      event = JSON.parse(text);
    } catch (e) {
      return;  // not an event; the service's channel only carries JSON
    }
    if (!event || typeof event.type !== 'string')
      return;
    this.eventCounts[event.type] = (this.eventCounts[event.type] || 0) + 1;
    this.events.push(event.type);
    if (this.events.length > 200)
      this.events.shift();
    this.dispatchEvent(new CustomEvent('server-event', { detail: event }));
  }

  // The agent's voice: played by the audio element, measured by an analyser.
  _playAgent (stream) {
    if (this._audio) {
      this._audio.srcObject = stream;
      this._audio.play().catch(() => {});
    }
    if (this._source)
      this._source.disconnect();
    this._analyser = this._analyser || this._audioContext.createAnalyser();
    this._analyser.fftSize = 2048;
    this._source = this._audioContext.createMediaStreamSource(stream);
    this._source.connect(this._analyser);
  }

  _measure () {
    if (!this._analyser)
      return;
    const samples = new Float32Array(this._analyser.fftSize);
    this._analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples)
      sum += s * s;
    const rms = Math.sqrt(sum / samples.length);
    const db = rms > 1e-6 ? Math.max(-120, 20 * Math.log10(rms)) : -120;
    this.level.current = db;
    this.level.max = Math.max(this.level.max, db);
    this.dispatchEvent(new CustomEvent('level', { detail: db }));
  }

  // A failed attempt or a dropped call: try again after a backoff, unless
  // retrying cannot help or the attempts are used up.
  _fault (reason, fatal, retryAfterMs = 0) {
    this._log('fault: ' + reason);
    // A call that stayed up a while starts the count again; one that drops
    // as soon as it is up keeps counting, so a flapping service ends it.
    if (this.state === 'connected' && performance.now() - this._connectedAt >= this.stableMs)
      this.attempt = 0;
    this._closeAttempt();
    if (fatal) {
      this._finish(reason);
      return;
    }
    this.attempt++;
    if (this.attempt >= this.maxAttempts) {
      this._finish('gave up after ' + this.attempt + ' failed attempts; last: ' + reason);
      return;
    }
    const ceiling = Math.min(this.backoffCapMs,
      this.backoffInitialMs * 2 ** (this.attempt - 1));
    // Retry-After is a floor, as the service asks.
    const wait = Math.max(retryAfterMs, Math.random() * ceiling);
    this._setState('reconnecting', reason);
    this._log('attempt ' + (this.attempt + 1) + ' in ' + Math.round(wait) + ' ms');
    this._retryTimer = setTimeout(() => {
      this._retryTimer = 0;
      if (this.state === 'reconnecting')
        this._connect();
    }, wait);
  }

  // Ends the current attempt: its requests, channel and peer connection.
  _closeAttempt () {
    this._generation++;
    if (this._abort)
      this._abort.abort();
    this._abort = null;
    for (const t of ['_connectTimer', '_graceTimer', '_retryTimer']) {
      clearTimeout(this[t]);
      this[t] = 0;
    }
    if (this._channel) {
      this._channel.onopen = this._channel.onclose = this._channel.onmessage = null;
      this._channel.close();
      this._channel = null;
    }
    if (this._pc) {
      this._pc.ontrack = this._pc.onconnectionstatechange = null;
      this._pc.oniceconnectionstatechange = null;
      this._pc.close();
      this._lastPc = this._pc;
      this._pc = null;
    }
    if (this._source) {
      this._source.disconnect();
      this._source = null;
    }
    if (this._audio)
      this._audio.srcObject = null;
  }

  // To disconnected, releasing everything the call held.
  _finish (error) {
    this._closeAttempt();
    clearInterval(this._levelTimer);
    this._levelTimer = 0;
    if (this._mic) {
      for (const track of this._mic.getTracks())
        track.stop();
      this._mic = null;
    }
    this._analyser = null;
    if (this._audioContext) {
      this._audioContext.close().catch(() => {});
      this._audioContext = null;
    }
    this.level.current = -120;
    this.lastError = error;
    this._setState('disconnected', error);
  }
}

window.VoiceClient = VoiceClient;
