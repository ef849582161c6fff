/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Two rt::Peers in one process, joined by the direct signaller: offer and
 * answer, trickled candidates, audio both ways (each side hears the other's
 * tone), a data channel both ways, and a hang-up that reaches the far end.
 * No server and no HTTP: the seams alone, as webrtcbin's own tests wire two
 * webrtcbins together. */
#include "audio_analysis.h"
#include "core/debug.h"
#include "call.h"
#include "core/worker.h"
#include "signalling/direct.h"
#include "webrtc/peer.h"

#include <gst/check/gstcheck.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace {

/* One side: a Peer driven by its signaller, as a call drives it. */
struct Side {
  const char *name;
  double tone;
  rt::Worker worker;
  std::shared_ptr<rt::DirectSignaller> signaller;
  std::shared_ptr<rt::Peer> peer;
  std::shared_ptr<rt::DataChannel> channel;
  std::string session;

  std::mutex m;
  std::condition_variable cv;
  std::vector<int16_t> heard;      /* under m */
  std::vector<std::string> texts;  /* under m */
  bool channel_open = false;       /* under m */
  bool ended = false;              /* under m */
  std::string ended_why;           /* under m */
  std::vector<std::string> errors; /* under m */
  std::vector<int> events;         /* under m: telephone events heard */
  int te_pt = 0;                   /* telephone events configured */
  std::function<void (rt::PeerConfig &)> tune; /* more of the config */

  Side (const char *n, double f) : name (n), tone (f), worker (n) {}
  ~Side () { stop (); }

  template <typename Pred> bool wait (Pred pred, int seconds = 20)
  {
    std::unique_lock<std::mutex> l (m);
    return cv.wait_for (l, std::chrono::seconds (seconds), pred);
  }

  void note (std::function<void ()> fn)
  {
    {
      std::lock_guard<std::mutex> l (m);
      fn ();
    }
    cv.notify_all ();
  }

  void use_channel (std::shared_ptr<rt::DataChannel> c)
  {
    channel = c;
    c->on_open = [this] { note ([this] { channel_open = true; }); };
    c->on_text = [this] (const std::string &t) {
      note ([this, t] { texts.push_back (t); });
    };
  }

  rt::PeerRole role = rt::PeerRole::Offerer;
  rt::AudioCodec codec = rt::AudioCodec::Opus;
  unsigned offers = 0; /* on the worker */

  /* Builds the peer on the worker and wires it to the signaller. */
  void build (rt::PeerRole r, rt::AudioCodec c)
  {
    role = r;
    codec = c;
    worker.run_sync ([this] {
      make_peer ();
      wire ();
    });
  }

  /* On the worker. */
  void make_peer ()
  {
    {
      {
        std::lock_guard<std::mutex> l (m);
        heard.clear ();
      }
      rt::PeerConfig config;
      config.name = name;
      config.role = role;
      config.local_addresses = { "127.0.0.1" };
      config.audio.codec = codec;
      config.audio.payload_type = codec == rt::AudioCodec::Opus ? 111 : 0;
      config.audio.telephone_event_pt = te_pt;
      if (tune)
        tune (config);
      if (role == rt::PeerRole::Offerer)
        config.channels = { "test" };
      rt::Peer::Events e;
      e.local_description = [this] (GstWebRTCSDPType type,
                                const std::string &sdp) {
        signaller->send_description (session,
            rt::SessionDescription { type, sdp });
      };
      e.local_candidate = [this] (unsigned mline, const std::string &c) {
        signaller->send_candidate (session, mline, c);
      };
      e.data_channel = [this] (std::shared_ptr<rt::DataChannel> c) {
        use_channel (c);
      };
      e.telephone_event = [this] (int event) {
        note ([this, event] { events.push_back (event); });
      };
      e.error = [this] (const rt::PeerError &err) {
        note ([this, err] { errors.push_back (err.message); });
      };
      e.audio = [this] (GstBuffer *buffer) {
        GstMapInfo map;
        if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
          return;
        auto *s = reinterpret_cast<const int16_t *> (map.data);
        std::vector<int16_t> samples (s, s + map.size / 2);
        gst_buffer_unmap (buffer, &map);
        note ([this, &samples] {
          heard.insert (heard.end (), samples.begin (), samples.end ());
        });
      };
      if (peer)
        peer->stop ();
      peer = std::make_shared<rt::Peer> (worker, config, e);
      fail_unless (peer->start (), "%s: the peer did not start", name);
      if (auto c = peer->channel ("test"))
        use_channel (c);
    }
  }

  /* On the worker. A new offer after the first is a new call: a fresh
   * peer takes it, as a call's attempt is a fresh peer. */
  void wire ()
  {
    {
      rt::Signaller::Handlers h;
      h.session_requested =
          [this] (const std::string &id,
              const std::optional<rt::SessionDescription> &offer) {
            session = id;
            if (offer && offers++ > 0)
              make_peer ();
            if (offer)
              peer->set_remote_description (GST_WEBRTC_SDP_TYPE_OFFER,
                  offer->sdp);
            else
              peer->create_offer ();
          };
      h.remote_description = [this] (const std::string &,
                                 const rt::SessionDescription &d,
                                 const std::string &) {
        peer->set_remote_description (d.type, d.sdp);
      };
      h.remote_candidate = [this] (const std::string &, unsigned mline,
                               const std::string &c) {
        peer->add_remote_candidate (mline, c);
      };
      h.session_ended = [this] (const std::string &, const rt::Fault &f) {
        note ([this, f] {
          ended = true;
          ended_why = f.error.message;
        });
      };
      signaller->set_handlers (h);
    }
  }

  void stop ()
  {
    worker.run_sync ([this] {
      channel.reset ();
      if (peer)
        peer->stop ();
      peer.reset ();
    });
  }

  size_t heard_samples ()
  {
    std::lock_guard<std::mutex> l (m);
    return heard.size ();
  }
};

/* Pushes 20 ms of a sine at live pace until stopped: the peer's input is a
 * live capture, so this paces, it does not synchronise. */
struct ToneFeeder {
  std::atomic<bool> running { true };
  std::atomic<unsigned> pushed { 0 };
  std::atomic<gint64> longest_push_us { 0 }; /* the caller held longest */
  std::mutex m;
  std::vector<gint64> push_us; /* under m: how long each push held */
  std::thread thread;

  /* The median time a push held its caller, over the pushes from `from`. */
  gint64 median_push_us (size_t from)
  {
    std::lock_guard<std::mutex> l (m);
    if (push_us.size () <= from)
      return -1;
    std::vector<gint64> v (push_us.begin () + from, push_us.end ());
    std::nth_element (v.begin (), v.begin () + v.size () / 2, v.end ());
    return v[v.size () / 2];
  }

  explicit ToneFeeder (Side &side, int buffer_ms = 20)
      : ToneFeeder (
            side.tone, [&side] (GstBuffer *b) { side.peer->push_audio (b); },
            &side.cv, buffer_ms)
  {
  }

  ToneFeeder (double tone, std::function<void (GstBuffer *)> push,
      std::condition_variable *cv, int buffer_ms = 20)
  {
    thread = std::thread ([this, tone, push, cv, buffer_ms] {
      const int rate = 48000, n = rate / 1000 * buffer_ms;
      guint64 t = 0;
      auto next = std::chrono::steady_clock::now ();
      while (running.load ()) {
        GstBuffer *b = gst_buffer_new_allocate (nullptr, n * 2, nullptr);
        GstMapInfo map;
        gst_buffer_map (b, &map, GST_MAP_WRITE);
        auto *s = reinterpret_cast<int16_t *> (map.data);
        for (int i = 0; i < n; i++, t++)
          s[i] = (int16_t) (8000 * std::sin (2 * M_PI * tone * t / rate));
        gst_buffer_unmap (b, &map);
        const gint64 before = g_get_monotonic_time ();
        push (b);
        const gint64 took = g_get_monotonic_time () - before;
        if (took > longest_push_us.load ())
          longest_push_us.store (took);
        {
          std::lock_guard<std::mutex> l (m);
          push_us.push_back (took);
        }
        gst_buffer_unref (b);
        pushed++;
        cv->notify_all ();
        next += std::chrono::milliseconds (buffer_ms);
        std::this_thread::sleep_until (next);
      }
    });
  }
  ~ToneFeeder ()
  {
    running.store (false);
    thread.join ();
  }
};

/* The far end's tone dominates half a second of what a side heard, once
 * it has heard that much past the first 200 ms (the codec's start). */
void expect_hears (Side &side, double tone)
{
  const size_t start = 48000 / 5, window = 48000 / 2;
  fail_unless (side.wait ([&] { return side.heard.size () >= start + window; }),
      "%s heard %zu samples, not the far end's audio", side.name,
      side.heard_samples ());
  std::lock_guard<std::mutex> l (side.m);
  double f = test::dominant_frequency (side.heard, start, window);
  fail_unless (std::fabs (f - tone) <= 10, "%s heard %.0f Hz, not %.0f Hz",
      side.name, f, tone);
  fail_unless (test::rms (side.heard, start, window) > 0.05,
      "%s heard the tone too faintly", side.name);
}

/* Joins an offerer and an answerer by the direct signaller and starts the
 * offer. */
void connect (Side &a, Side &b, rt::AudioCodec codec)
{
  auto pair = rt::DirectSignaller::pair (a.worker, b.worker);
  a.signaller = pair.first;
  b.signaller = pair.second;
  a.build (rt::PeerRole::Offerer, codec);
  b.build (rt::PeerRole::Answerer, codec);
  a.worker.run_sync ([&] { a.signaller->start (); });
}

void two_peers (rt::AudioCodec codec)
{
  Side a ("offerer", 440), b ("answerer", 880);
  connect (a, b, codec);

  /* The channel the offerer made opens at both ends. */
  fail_unless (a.wait ([&] { return a.channel_open; }),
      "the offerer's channel never opened");
  fail_unless (b.wait ([&] { return b.channel && b.channel_open; }),
      "the answerer never saw the channel open");
  std::string error;
  fail_unless (a.channel->send_text ("hello", &error), "%s", error.c_str ());
  fail_unless (b.wait ([&] { return !b.texts.empty (); }),
      "no text reached the answerer");
  fail_unless (b.channel->send_text ("world", &error), "%s", error.c_str ());
  fail_unless (a.wait ([&] { return !a.texts.empty (); }),
      "no text reached the offerer");
  {
    std::lock_guard<std::mutex> la (a.m), lb (b.m);
    fail_unless_equals_string (b.texts[0].c_str (), "hello");
    fail_unless_equals_string (a.texts[0].c_str (), "world");
  }

  {
    ToneFeeder fa (a), fb (b);
    expect_hears (a, b.tone);
    expect_hears (b, a.tone);
  }

  /* Hanging up reaches the far end as the end of its session. */
  a.worker.run_sync ([&] { a.signaller->end_session (a.session); });
  fail_unless (b.wait ([&] { return b.ended; }),
      "the hang-up never reached the answerer");
  {
    std::lock_guard<std::mutex> la (a.m), lb (b.m);
    fail_unless (a.errors.empty (), "offerer: %s",
        a.errors.empty () ? "" : a.errors[0].c_str ());
    fail_unless (b.errors.empty (), "answerer: %s",
        b.errors.empty () ? "" : b.errors[0].c_str ());
  }
  a.stop ();
  b.stop ();
}

/* Sends event from one side; the other hears it as its next event. (The
 * audio already flows both ways, so the far end's pipeline is up.) */
void expect_event (Side &from, Side &to, int event)
{
  size_t before;
  {
    std::lock_guard<std::mutex> l (to.m);
    before = to.events.size ();
  }
  bool sent = false;
  from.worker.run_sync (
      [&] { sent = from.peer->send_telephone_event (event, 200); });
  fail_unless (sent, "%s could not send telephone event %d", from.name, event);
  fail_unless (to.wait ([&] { return to.events.size () > before; }),
      "%s never heard telephone event %d", to.name, event);
  std::lock_guard<std::mutex> l (to.m);
  fail_unless_equals_int (to.events[before], event);
}

/* Telephone events (RFC 4733) beside the codec, both ways; the audio goes
 * on around them. An answerer not configured for them leaves them out. */
void telephone_events (rt::AudioCodec codec, bool answerer_takes)
{
  Side a ("offerer", 440), b ("answerer", 880);
  a.te_pt = 101;
  b.te_pt = answerer_takes ? 96 : 0; /* an answerer takes the offer's */
  connect (a, b, codec);
  fail_unless (a.wait ([&] { return a.channel_open; }),
      "the offerer's channel never opened");

  ToneFeeder fa (a), fb (b);
  expect_hears (a, b.tone);
  expect_hears (b, a.tone);
  int agreed_a = -2, agreed_b = -2;
  a.worker.run_sync ([&] { agreed_a = a.peer->telephone_event_pt (); });
  b.worker.run_sync ([&] { agreed_b = b.peer->telephone_event_pt (); });
  if (!answerer_takes) {
    fail_unless_equals_int (agreed_a, -1);
    bool sent = true;
    a.worker.run_sync ([&] { sent = a.peer->send_telephone_event (5, 100); });
    fail_if (sent, "an event was sent that the answer did not take");
    std::lock_guard<std::mutex> la (a.m), lb (b.m);
    fail_unless (a.errors.empty () && b.errors.empty (),
        "a peer reported an error");
    return;
  }
  fail_unless_equals_int (agreed_a, 101);
  fail_unless_equals_int (agreed_b, 101);
  expect_event (a, b, 5);
  expect_event (a, b, 11); /* '#' */
  expect_event (b, a, 3);
  /* The audio comes back after them. */
  {
    std::lock_guard<std::mutex> l (b.m);
    b.heard.clear ();
  }
  expect_hears (b, a.tone);
  std::lock_guard<std::mutex> la (a.m), lb (b.m);
  fail_unless (a.errors.empty () && b.errors.empty (), "%s",
      !a.errors.empty ()     ? a.errors[0].c_str () :
          !b.errors.empty () ? b.errors[0].c_str () :
                               "");
}

}  // namespace

GST_START_TEST (test_opus_both_ways)
{
  two_peers (rt::AudioCodec::Opus);
}
GST_END_TEST;

/* What a phone offers: G.711 at 8 kHz, resampled to and from 48 kHz. */
GST_START_TEST (test_pcmu_both_ways)
{
  two_peers (rt::AudioCodec::Pcmu);
}
GST_END_TEST;

GST_START_TEST (test_telephone_events_opus)
{
  telephone_events (rt::AudioCodec::Opus, true);
}
GST_END_TEST;

/* A phone's telephone-event/8000 beside PCMU. */
GST_START_TEST (test_telephone_events_pcmu)
{
  telephone_events (rt::AudioCodec::Pcmu, true);
}
GST_END_TEST;

GST_START_TEST (test_telephone_events_refused)
{
  telephone_events (rt::AudioCodec::Opus, false);
}
GST_END_TEST;

/* Stopping one side mid-call while the other keeps sending: nothing of the
 * stopped peer runs afterwards, and the other side is told nothing by it. */
GST_START_TEST (test_stop_under_traffic)
{
  Side a ("offerer", 440), b ("answerer", 880);
  connect (a, b, rt::AudioCodec::Opus);
  ToneFeeder fa (a);
  {
    ToneFeeder fb (b);
    fail_unless (b.wait ([&] { return b.heard.size () > 48000 / 5; }),
        "no audio reached the answerer");
  }
  b.stop ();
  const size_t after_stop = b.heard_samples ();
  /* A second more of the offerer's audio goes out to the stopped peer. */
  const unsigned sent = fa.pushed.load ();
  fail_unless (a.wait ([&] { return fa.pushed.load () >= sent + 50; }, 10),
      "the offerer stopped sending");
  fail_unless_equals_int (b.heard_samples (), after_stop);
  std::lock_guard<std::mutex> l (b.m);
  fail_unless (b.errors.empty () && !b.ended,
      "the stopped peer still reported");
}
GST_END_TEST;

/* The elements of a peer's pipeline made by a factory, at any depth. */
std::vector<GstElement *> made_by (GstElement *pipeline, const char *factory)
{
  std::vector<GstElement *> out;
  GstIterator *it = gst_bin_iterate_recurse (GST_BIN (pipeline));
  GValue item = G_VALUE_INIT;
  while (gst_iterator_next (it, &item) == GST_ITERATOR_OK) {
    auto *e = GST_ELEMENT (g_value_get_object (&item));
    GstElementFactory *f = gst_element_get_factory (e);
    if (f && g_str_equal (GST_OBJECT_NAME (f), factory))
      out.push_back (e); /* the pipeline holds it */
    g_value_reset (&item);
  }
  g_value_unset (&item);
  gst_iterator_free (it);
  return out;
}

/* The sender's settings reach its encoder; with direct input the encoder
 * runs on the thread that pushes, with no appsrc before it and no clock
 * wait after it; Opus both ways needs no converter when the caps are the
 * codec's own. */
GST_START_TEST (test_direct_input_and_encoder_settings)
{
  Side a ("offerer", 440), b ("answerer", 880);
  a.tune = [] (rt::PeerConfig &config) {
    config.audio.opus_complexity = 3;
    config.audio.opus_bitrate = 24000;
    config.audio.opus_voice = false;
    config.audio.direct_input = true;
    config.start_at_first_packet = true;
  };
  connect (a, b, rt::AudioCodec::Opus);
  fail_unless (a.wait ([&] { return a.channel_open; }),
      "the offerer's channel never opened");
  auto encoders = made_by (a.peer->pipeline (), "opusenc");
  fail_unless_equals_int (encoders.size (), 1);
  gint complexity = -1, bitrate = -1, audio_type = -1;
  g_object_get (encoders[0], "complexity", &complexity, "bitrate", &bitrate,
      "audio-type", &audio_type, nullptr);
  fail_unless_equals_int (complexity, 3);
  fail_unless_equals_int (bitrate, 24000);
  fail_unless_equals_int (audio_type, 2049); /* OPUS_APPLICATION_AUDIO */
  GstElement *queued = gst_bin_get_by_name (GST_BIN (a.peer->pipeline ()),
      "audio-in");
  fail_if (queued != nullptr, "direct input still has an appsrc");
  queued = gst_bin_get_by_name (GST_BIN (b.peer->pipeline ()), "audio-in");
  fail_unless (queued != nullptr, "the answerer has no appsrc");
  gst_object_unref (queued);

  /* Under a's lock: the thread the encoder last ran on. */
  struct Encoded {
    Side *side;
    std::thread::id on;
  } encoded { &a, {} };
  GstPad *out = gst_element_get_static_pad (encoders[0], "src");
  gst_pad_add_probe (
      out, GST_PAD_PROBE_TYPE_BUFFER,
      [] (GstPad *, GstPadProbeInfo *, gpointer data) {
        auto *e = static_cast<Encoded *> (data);
        e->side->note ([e] { e->on = std::this_thread::get_id (); });
        return GST_PAD_PROBE_OK;
      },
      &encoded, nullptr);
  {
    ToneFeeder fa (a), fb (b);
    expect_hears (b, a.tone);
    expect_hears (a, b.tone);
    std::lock_guard<std::mutex> l (a.m);
    fail_unless (encoded.on == fa.thread.get_id (),
        "the encoder did not run on the thread that pushed");
  }
  /* Nothing holds the pushing thread until a packet's time. */
  auto clocksyncs = made_by (a.peer->pipeline (), "clocksync");
  fail_if (clocksyncs.empty (), "webrtcbin has no clocksync (any more?)");
  for (GstElement *e : clocksyncs) {
    gboolean sync = TRUE;
    g_object_get (e, "sync", &sync, nullptr);
    fail_if (sync, "%s waits for the clock", GST_OBJECT_NAME (e));
  }
  /* The offerer's jitter buffers are told to pass a stream's first packet
   * at once; the answerer's keep rtpjitterbuffer's default (0: the first
   * packet waits for the latency). */
  for (Side *side : { &a, &b }) {
    auto buffers = made_by (side->peer->pipeline (), "rtpjitterbuffer");
    fail_if (buffers.empty (), "%s has no jitter buffer", side->name);
    for (GstElement *e : buffers) {
      guint fast = 0;
      g_object_get (e, "faststart-min-packets", &fast, nullptr);
      fail_unless_equals_int (fast, side == &a ? 1 : 0);
    }
  }
  for (Side *side : { &a, &b })
    for (const char *converter : { "audioconvert", "audioresample" })
      fail_unless (made_by (side->peer->pipeline (), converter).empty (),
          "%s has an %s for Opus in its own caps", side->name, converter);
  /* The probe's data lives here: no buffer may reach it afterwards. */
  a.stop ();
  gst_object_unref (out);
}
GST_END_TEST;

/* A sender with direct input whose far end vanishes mid-call keeps being
 * taken at once: nothing after its encoder waits for the network. Once
 * stopped, it takes nothing. */
GST_START_TEST (test_direct_input_never_waits)
{
  Side a ("offerer", 440), b ("answerer", 880);
  a.tune = [] (rt::PeerConfig &config) { config.audio.direct_input = true; };
  connect (a, b, rt::AudioCodec::Opus);
  auto peer = a.peer;
  {
    /* 40 ms buffers: the second frame of each lies ahead of the clock. */
    ToneFeeder fa (a, 40);
    expect_hears (b, a.tone);
    /* Once up (a call pushes only then), nothing holds a push: before,
     * webrtcbin's clocksync held each packet for the encoder's latency. */
    const unsigned up = fa.pushed.load ();
    fail_unless (a.wait ([&] { return fa.pushed.load () >= up + 25; }, 20),
        "the offerer stopped sending");
    const gint64 median = fa.median_push_us (up);
    fail_unless (median >= 0 && median < 3000,
        "a push held its caller for %" G_GINT64_FORMAT " us (median)", median);
    fa.longest_push_us.store (0);
    b.stop ();
    /* Two more seconds of the offerer's audio into the void. */
    const unsigned sent = fa.pushed.load ();
    fail_unless (a.wait ([&] { return fa.pushed.load () >= sent + 50; }, 20),
        "the offerer stopped sending");
    fail_unless (fa.longest_push_us.load () < 100000,
        "a push held its caller for %" G_GINT64_FORMAT " ms",
        fa.longest_push_us.load () / 1000);
  }
  a.stop ();
  GstBuffer *buffer = gst_buffer_new_allocate (nullptr, 1920, nullptr);
  gst_buffer_memset (buffer, 0, 0, 1920);
  fail_if (peer->push_audio (buffer), "a stopped peer took audio");
  gst_buffer_unref (buffer);
}
GST_END_TEST;

/* What a call reports, for the assertions. */
struct CallRecorder : rt::CallObserver {
  Side &side; /* its lock and condition guard these too */
  std::vector<std::string> transitions;
  std::vector<int16_t> heard;

  explicit CallRecorder (Side &s) : side (s) {}
  void on_transition (const rt::Transition &t, bool) override
  {
    side.note ([this, t] {
      transitions.push_back (std::string (rt::connection_state_name (t.state)) +
          "/" + std::to_string (t.attempt) +
          (t.category.empty () ? "" : "/" + t.category));
    });
  }
  void on_audio (GstBuffer *buffer) override
  {
    GstMapInfo map;
    if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
      return;
    auto *p = reinterpret_cast<const int16_t *> (map.data);
    std::vector<int16_t> samples (p, p + map.size / 2);
    gst_buffer_unmap (buffer, &map);
    side.note ([this, &samples] {
      heard.insert (heard.end (), samples.begin (), samples.end ());
    });
  }
  size_t count (const std::string &t)
  {
    return std::count (transitions.begin (), transitions.end (), t);
  }
};

/* rt::Call's reconnection over the direct signaller, media alone (no agent
 * session): the call connects to a plain answering peer, audio goes both
 * ways through Call::push_audio and the observers, and when the far end
 * hangs up the call comes back by itself with a new peer on both sides. */
GST_START_TEST (test_call_reconnects_over_direct)
{
  Side far ("far end", 880);
  auto recorder = std::make_shared<CallRecorder> (far);
  rt::CallSettings settings;
  settings.agent_session = false;
  settings.reconnect.initial_delay_ms = 10;
  settings.reconnect.max_delay_ms = 50;
  auto call = std::make_shared<rt::Call> ("direct-test");
  call->add_observer (recorder, true);
  far.role = rt::PeerRole::Answerer;
  call->start (
      [&far] (rt::Worker &w) {
        auto pair = rt::DirectSignaller::pair (w, far.worker);
        far.signaller = pair.second;
        far.worker.run_sync ([&far] {
          far.make_peer ();
          far.wire ();
        });
        return pair.first;
      },
      settings);

  fail_unless (far.wait ([&] { return recorder->count ("connected/1") == 1; }),
      "the call never connected");
  const double call_tone = 440;
  {
    ToneFeeder to_far (
        call_tone, [&] (GstBuffer *b) { call->push_audio (b); }, &far.cv);
    ToneFeeder from_far (far);
    expect_hears (far, call_tone);
    const size_t start = 48000 / 5, window = 48000 / 2;
    fail_unless (
        far.wait ([&] { return recorder->heard.size () >= start + window; }),
        "the call heard nothing of the far end");
    std::lock_guard<std::mutex> l (far.m);
    double f = test::dominant_frequency (recorder->heard, start, window);
    fail_unless (std::fabs (f - far.tone) <= 10, "the call heard %.0f Hz", f);
  }

  /* The far end hangs up: the call notices, and is back with attempt 2. */
  far.worker.run_sync ([&] { far.signaller->end_session (far.session); });
  fail_unless (far.wait ([&] { return recorder->count ("connected/2") == 1; }),
      "the call did not come back after the hang-up");
  {
    std::lock_guard<std::mutex> l (far.m);
    fail_unless_equals_int (recorder->count ("reconnecting/2/channel-closed"),
        1);
    fail_unless (far.errors.empty (), "far end: %s",
        far.errors.empty () ? "" : far.errors[0].c_str ());
  }
  rt::CallStats stats = call->stats ();
  fail_unless_equals_int (stats.attempts, 2);
  fail_unless_equals_int (stats.reconnects, 1);
  call.reset ();
  far.stop ();
}
GST_END_TEST;

static Suite *peer_suite ()
{
  rt::init_debug ();
  Suite *s = suite_create ("peer");
  TCase *tc = tcase_create ("direct");
  tcase_set_timeout (tc, 90);
  tcase_add_test (tc, test_opus_both_ways);
  tcase_add_test (tc, test_pcmu_both_ways);
  tcase_add_test (tc, test_telephone_events_opus);
  tcase_add_test (tc, test_telephone_events_pcmu);
  tcase_add_test (tc, test_telephone_events_refused);
  tcase_add_test (tc, test_stop_under_traffic);
  tcase_add_test (tc, test_direct_input_and_encoder_settings);
  tcase_add_test (tc, test_direct_input_never_waits);
  tcase_add_test (tc, test_call_reconnects_over_direct);
  suite_add_tcase (s, tc);
  return s;
}

GST_CHECK_MAIN (peer);
