/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Echo cancellation as the microphone-and-speaker example does it (README,
 * docs/examples.md): webrtcdsp on the microphone path, webrtcechoprobe on
 * the agent's voice. The "room" plays the agent's voice back into the
 * microphone 40 ms after the speaker would have played it; the local
 * server measures the level of what it receives. With cancellation the
 * echo must reach it at least 20 dB lower, and the user's own voice as
 * loud as without. */
#include "session.h"

#include <gst/check/gstcheck.h>

namespace {

/* What the agent says: about ten seconds of espeak-ng speech, enough for
 * the canceller to converge and then be measured. */
const char *kReply =
    "A loudspeaker next to the microphone would let the agent hear its own "
    "voice again. The echo canceller takes out what the speaker played, so "
    "that only the voice of the user reaches the service.";

/* The echo arrives this long after the pipeline plays the agent's voice:
 * the sound card, the air, a room's reflections. */
constexpr GstClockTime kAcousticDelay = 40 * GST_MSECOND;

/* The example's pipeline, with the microphone replaced by a room (a mixer
 * of the user's voice and the speaker's echo) and the speaker by an
 * appsink that plays in time (sync). A room never loses sound; a mixer
 * drops what comes after its deadline, and a loaded machine makes a live
 * source late. So the user's voice is made ahead of time (not live: the
 * mixer paces it), the echo comes early (the offset), and the mixer waits
 * 40 ms past each deadline, as a sound card's capture period would. */
std::string pipeline (bool cancel)
{
  return "ephemeraltokenprovider api-base=" + server.base + " " + key () +
      " openairealtimesrc name=src turn-detection=none"
      " ! webrtcechoprobe name=speakerprobe ! tee name=speaker"
      " speaker. ! queue ! appsink name=out sync=true"
      " speaker. ! queue name=echo ! volume volume=0.5 ! room."
      " audiotestsrc name=user freq=440 volume=0"
      "   samplesperbuffer=480 ! audio/x-raw,rate=48000,channels=1 ! room."
      " audiomixer name=room latency=40000000"
      " ! audio/x-raw,rate=48000,channels=1"
      " ! webrtcdsp probe=speakerprobe noise-suppression=false"
      "   gain-control=false echo-cancel=" +
      std::string (cancel ? "true" : "false") +
      " ! openairealtimesink name=sink turn-detection=none";
}

/* The server's input level windows of its latest call (a loaded machine
 * can make the first attempt fail): (t, dBFS). */
std::vector<std::pair<double, double>> windows ()
{
  JsonNode *log = server.log ();
  fail_unless (log != nullptr);
  JsonArray *calls = json_object_get_array_member (json_node_get_object (log),
      "calls");
  const guint n = json_array_get_length (calls);
  fail_unless (n > 0, "the server has no call");
  JsonArray *a = json_object_get_array_member (
      json_object_get_object_member (
          json_array_get_object_element (calls, n - 1), "input_audio"),
      "windows");
  std::vector<std::pair<double, double>> out;
  for (guint i = 0; i < json_array_get_length (a); i++) {
    JsonObject *w = json_array_get_object_element (a, i);
    out.emplace_back (json_object_get_double_member (w, "t"),
        json_object_get_double_member (w, "rms_dbfs"));
  }
  json_node_unref (log);
  return out;
}

double last_window (const std::vector<std::pair<double, double>> &w)
{
  return w.empty () ? 0 : w.back ().first;
}

/* The mean power of the windows in [from, to], in dBFS, and the loudest
 * window; fewer than 5 windows fail. */
double level (const std::vector<std::pair<double, double>> &w, double from,
    double to, double *loudest = nullptr)
{
  double sum = 0, most = -120;
  int n = 0;
  for (const auto &[t, db] : w)
    if (t >= from && t <= to) {
      sum += std::pow (10, db / 10);
      most = std::max (most, db);
      n++;
    }
  fail_unless (n >= 5, "only %d level windows in %.1f..%.1f s", n, from, to);
  if (loudest)
    *loudest = most;
  return 10 * std::log10 (sum / n);
}

GstClockTime pipeline_latency (Session &s)
{
  GstQuery *q = gst_query_new_latency ();
  fail_unless (gst_element_query (s.pipeline, q));
  GstClockTime latency = 0;
  gst_query_parse_latency (q, nullptr, &latency, nullptr);
  gst_query_unref (q);
  return latency;
}

struct Heard {
  double echo;  /* dBFS while the agent talks, once the canceller settled */
  double peak;  /* the loudest 100 ms of it */
  double voice; /* dBFS of the user's voice after the agent stopped */
  double spoke; /* seconds the agent's voice took to reach the server */
};

Heard converse (bool cancel)
{
  server.control ("/control/reset", "{}");
  Session s (Session::Whole { pipeline (cancel) });
  s.play ();
  fail_unless (s.wait_event ("session.updated", 30s), "no session: %s",
      s.event_types ().c_str ());

  /* The echo comes kAcousticDelay after the speaker plays, which is the
   * pipeline's latency after the voice's timestamps. */
  const GstClockTime latency = pipeline_latency (s);
  GstElement *echo = gst_bin_get_by_name (GST_BIN (s.pipeline), "echo");
  GstPad *pad = gst_element_get_static_pad (echo, "src");
  gst_pad_set_offset (pad, gint64 (latency + kAcousticDelay));
  gst_object_unref (pad);
  gst_object_unref (echo);

  /* The agent talks once the server hears the microphone (a loaded machine
   * can take seconds to start the media): its windows count from there. */
  for (int i = 0; windows ().empty (); i++) {
    fail_unless (i < 300, "the server heard nothing");
    fail_unless (s.wait_audio (s.audio_size (), 4800));
  }
  fail_unless (send_text (s.src, "Tell me about echo.", true));
  fail_unless (s.wait_event ("output_audio_buffer.started", 30s));
  const double started = last_window (windows ());
  fail_unless (s.wait_event ("output_audio_buffer.stopped", 60s),
      "the agent did not finish: %s", s.event_types ().c_str ());
  auto talk = windows ();
  const double stopped = last_window (talk);
  fail_unless (stopped - started > 6, "the agent spoke only %.1f s",
      stopped - started);

  /* Then the user speaks, alone, for a second and a half of the speaker's
   * time. */
  GstElement *user = gst_bin_get_by_name (GST_BIN (s.pipeline), "user");
  g_object_set (user, "volume", 0.1, nullptr);
  gst_object_unref (user);
  fail_unless (s.wait_audio (s.audio_size (), 48000 * 3 / 2, 20s));
  auto after = windows ();
  expect_no_error (s);
  /* The room's echo stayed where the speaker played. */
  fail_unless_equals_uint64 (pipeline_latency (s), latency);

  /* The first seconds are the canceller's to converge in; the last half
   * second may already be silence. */
  Heard h;
  h.echo = level (talk, started + 3, stopped - 0.5, &h.peak);
  h.voice = level (after, stopped + 0.6, last_window (after));
  h.spoke = stopped - started;
  g_print ("cancellation %s: echo %.1f dBFS over %.1f..%.1f s (loudest "
           "100 ms %.1f), the user's voice %.1f dBFS\n",
      cancel ? "on" : "off", h.echo, started + 3, stopped - 0.5, h.peak,
      h.voice);
  return h;
}

}  // namespace

GST_START_TEST (test_echo_cancelled)
{
  /* The same reply takes the same time to play, unless the machine was too
   * busy to play it in time: then it comes with gaps and lasts longer, and
   * the windows measured are not the ones the agent spoke in. Such a pair
   * is measured again. */
  Heard off, on;
  for (int attempt = 1;; attempt++) {
    off = converse (false);
    on = converse (true);
    if (std::abs (on.spoke - off.spoke) < 1.5)
      break;
    fail_unless (attempt < 3,
        "the agent's voice never played in time (%.1f s, then %.1f s)",
        off.spoke, on.spoke);
    g_print ("the agent's voice took %.1f s, then %.1f s: measured again\n",
        off.spoke, on.spoke);
  }
  g_print ("echo %.1f dB lower with cancellation; the user's voice %+.1f dB\n",
      off.echo - on.echo, on.voice - off.voice);
  /* Without cancellation the agent hears itself, loud enough for any
   * voice activity detection to take it for the user. */
  fail_unless (off.echo > -35, "no echo without cancellation: %.1f dBFS",
      off.echo);
  fail_unless (off.echo - on.echo >= 20,
      "the echo is only %.1f dB lower with cancellation (%.1f against "
      "%.1f dBFS)",
      off.echo - on.echo, on.echo, off.echo);
  /* The user is heard as well as without. */
  fail_unless (std::abs (on.voice - off.voice) < 3,
      "the user's voice is %.1f dBFS with cancellation, %.1f without", on.voice,
      off.voice);
}
GST_END_TEST;

/* The agent speaks with espeak-ng, and the server sends nothing back of
 * what it hears: the only echo is the room's. */
static void echo_server_up ()
{
  local_server_up_with (
      std::string ("--no-echo --speech espeak --reply '") + kReply + "'");
}

static Suite *echo_suite (void)
{
  Suite *s = suite_create ("echo");
  TCase *tc = tcase_create ("echo");
  tcase_add_unchecked_fixture (tc, echo_server_up, local_server_down);
  /* Two calls of about twenty seconds each, measured again up to twice; a
   * sanitized build on a loaded machine takes twice as long. */
  tcase_set_timeout (tc, 400);
  tcase_add_test (tc, test_echo_cancelled);
  suite_add_tcase (s, tc);
  return s;
}

GST_CHECK_MAIN (echo);
