/* SPDX-License-Identifier: LGPL-2.1-or-later */
// gst-openai-realtime-server: a local stand-in for the OpenAI Realtime service over WebRTC.
// See docs/local-server.md.

#include "call_manager.h"
#include "control.h"
#include "http_frontend.h"
#include "main_thread.h"
#include "minimal_media.h"
#include "options.h"
#include "secrets.h"

#include <gio/gio.h>
#include <glib-unix.h>
#include <gst/gst.h>

#include <cstdio>
#include <memory>
#include <string>

namespace {

rts::StrictIce strict_ice = rts::StrictIce::Off;

gboolean parse_strict_ice (const gchar *, const gchar *value, gpointer,
    GError **error)
{
  if (!value || g_strcmp0 (value, "consent") == 0) {
    strict_ice = rts::StrictIce::Consent;
  } else if (g_strcmp0 (value, "all") == 0) {
    strict_ice = rts::StrictIce::All;
  } else {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "--strict-ice takes consent or all, not %s", value);
    return FALSE;
  }
  return TRUE;
}

bool parse_options (int argc, char **argv, rts::Options *options)
{
  gchar *address = nullptr, *api_key = nullptr, *speech = nullptr,
        *reply = nullptr, *media = nullptr, *recognition = nullptr;
  gint port = options->port, max_call_seconds = options->max_call_seconds;
  gint peer_timeout = options->peer_timeout_seconds;
  gdouble tone_freq = options->tone_freq;
  gboolean no_echo = FALSE, control = FALSE;
  GOptionEntry entries[] = {
    { "address", 0, 0, G_OPTION_ARG_STRING, &address,
        "IP address to serve and gather ICE on (127.0.0.1)", "IP" },
    { "port", 0, 0, G_OPTION_ARG_INT, &port,
        "HTTP port; 0 picks a free one (8765)", "PORT" },
    { "api-key", 0, 0, G_OPTION_ARG_STRING, &api_key,
        "Permanent key accepted for minting (env REALTIME_SERVER_API_KEY, else local-dev-key)",
        "KEY" },
    { "speech", 0, 0, G_OPTION_ARG_STRING, &speech,
        "Agent voice: tone or espeak (espeak if espeak-ng is installed)",
        "tone|espeak" },
    { "tone-freq", 0, 0, G_OPTION_ARG_DOUBLE, &tone_freq,
        "Frequency of the tone voice in Hz (660)", "HZ" },
    { "reply", 0, 0, G_OPTION_ARG_STRING, &reply,
        "What the agent says (default: \"You asked: \" and the words it heard)",
        "TEXT" },
    { "no-echo", 0, 0, G_OPTION_ARG_NONE, &no_echo,
        "Do not echo the caller's audio back", nullptr },
    { "control", 0, 0, G_OPTION_ARG_NONE, &control,
        "Enable the /control test interface", nullptr },
    { "max-call-seconds", 0, 0, G_OPTION_ARG_INT, &max_call_seconds,
        "End calls after this long (3600)", "S" },
    { "strict-ice", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK,
        reinterpret_cast<gpointer> (parse_strict_ice),
        "Ignore ICE binding requests without USE-CANDIDATE: after nomination (consent, the default) or all",
        "consent|all" },
    { "peer-timeout", 0, 0, G_OPTION_ARG_INT, &peer_timeout,
        "End a call whose peer sent nothing for this long (30)", "S" },
    { "media", 0, 0, G_OPTION_ARG_STRING, &media,
        "Call audio: full (decoded, echoed, spoken) or minimal (nothing decoded, a "
        "pre-encoded tone replayed: for many-call benchmarks)",
        "full|minimal" },
    { "recognition", 0, 0, G_OPTION_ARG_STRING, &recognition,
        "When the speech recogniser loads: when a caller first speaks (lazy; turns that end "
        "before it is ready get no words), before listening (eager), or never (off)",
        "lazy|eager|off" },
    {}
  };
  GOptionContext *context = g_option_context_new (
      "- local stand-in for the OpenAI Realtime service");
  g_option_context_add_main_entries (context, entries, nullptr);
  GError *error = nullptr;
  bool ok = g_option_context_parse (context, &argc, &argv, &error);
  g_option_context_free (context);
  if (!ok) {
    g_printerr ("gst-openai-realtime-server: %s\n", error->message);
    g_error_free (error);
    return false;
  }
  if (address)
    options->address = address;
  options->port = port;
  const char *env_key = g_getenv ("REALTIME_SERVER_API_KEY");
  options->api_key = api_key ? api_key :
      env_key && *env_key    ? env_key :
                               "local-dev-key";
  gchar *espeak = g_find_program_in_path ("espeak-ng");
  options->speech = espeak ? rts::SpeechKind::Espeak : rts::SpeechKind::Tone;
  g_free (espeak);
  if (speech) {
    if (g_strcmp0 (speech, "tone") == 0) {
      options->speech = rts::SpeechKind::Tone;
    } else if (g_strcmp0 (speech, "espeak") == 0) {
      options->speech = rts::SpeechKind::Espeak;
    } else {
      g_printerr (
          "gst-openai-realtime-server: --speech must be tone or espeak\n");
      ok = false;
    }
  }
  options->tone_freq = tone_freq;
  if (reply)
    options->reply = reply;
  options->echo = !no_echo;
  options->control = control;
  options->max_call_seconds = max_call_seconds;
  options->peer_timeout_seconds = peer_timeout;
  options->strict_ice = strict_ice;
  if (media && g_strcmp0 (media, "minimal") == 0) {
    options->media = rts::MediaMode::Minimal;
    options->echo = false;  // nothing is decoded, so there is nothing to echo
  } else if (media && g_strcmp0 (media, "full") != 0) {
    g_printerr (
        "gst-openai-realtime-server: --media must be full or minimal\n");
    ok = false;
  }
  if (recognition) {
    if (g_strcmp0 (recognition, "lazy") == 0) {
      options->recognition = rts::Recognition::Lazy;
    } else if (g_strcmp0 (recognition, "eager") == 0) {
      options->recognition = rts::Recognition::Eager;
    } else if (g_strcmp0 (recognition, "off") == 0) {
      options->recognition = rts::Recognition::Off;
    } else {
      g_printerr ("gst-openai-realtime-server: --recognition must be lazy, "
                  "eager or off\n");
      ok = false;
    }
  }
  if (port < 0 || port > 65535 || max_call_seconds < 1 || tone_freq <= 0 ||
      tone_freq >= 24000 || peer_timeout < 1) {
    g_printerr (
        "gst-openai-realtime-server: invalid --port, --tone-freq, --max-call-seconds or "
        "--peer-timeout\n");
    ok = false;
  }
  g_free (address);
  g_free (api_key);
  g_free (speech);
  g_free (reply);
  g_free (media);
  g_free (recognition);
  return ok;
}

// Pay start-up costs now rather than during the first call's answer:
// - the dtls plugin makes its RSA certificate (65-450 ms) once per process, on first use;
// - webrtcbin loads the plugins of its internal elements on first use (~20 ms on the first
//   answer otherwise).
void warm_up ()
{
  static const char *const factories[] = { "dtlsdec", "webrtcbin", "rtpbin",
    "nicesrc", "nicesink", "dtlssrtpenc", "dtlssrtpdec", "sctpenc", "sctpdec",
    "rtprtxsend", "rtprtxreceive", "rtpstorage", "rtpulpfecdec", "rtpredenc",
    "rtpreddec", "rtpjitterbuffer", "opusenc", "opusdec", "rtpopuspay",
    "rtpopusdepay", "audioconvert", "audioresample", "appsrc", "appsink",
    "funnel" };
  for (const char *name : factories) {
    GstElement *element = gst_element_factory_make (name, nullptr);
    if (element)
      gst_object_unref (element);
    else
      g_warning ("element %s is missing: calls may fail", name);
  }
}

gboolean on_quit_signal (gpointer loop)
{
  g_message ("shutting down");
  g_main_loop_quit (static_cast<GMainLoop *> (loop));
  return G_SOURCE_CONTINUE;
}

}  // namespace

int main (int argc, char **argv)
{
  // Debug and info lines go to stderr with the rest: stdout carries the "listening" line only.
  g_log_writer_default_set_use_stderr (TRUE);
  gst_init (&argc, &argv);
  rts::Options options;
  if (!parse_options (argc, argv, &options))
    return 2;
  warm_up ();
  if (options.media == rts::MediaMode::Minimal) {
    std::string error;
    if (!rts::prepare_minimal_audio (options.tone_freq, &error)) {
      g_printerr ("gst-openai-realtime-server: %s\n", error.c_str ());
      return 1;
    }
  }

  // The main thread only waits for a signal to stop: the server runs on its worker.
  GMainLoop *loop = g_main_loop_new (nullptr, FALSE);
  int status = 0;
  {
    rt::Worker worker ("rts-server");
    rts::set_server_worker (&worker);
    struct Server {
      rts::ControlLog log;
      rts::SecretStore secrets;
      std::unique_ptr<rts::CallManager> calls;
      std::unique_ptr<rts::HttpFrontEnd> http;
    };
    std::unique_ptr<Server> server;
    std::string error;
    bool listening = false;
    worker.run_sync ([&] {
      server = std::make_unique<Server> ();
      server->calls = std::make_unique<rts::CallManager> (options, server->log);
      server->http = std::make_unique<rts::HttpFrontEnd> (options,
          server->secrets, *server->calls, server->log);
      listening = server->http->start (&error);
    });
    // Off the worker: the recogniser's thread needs nothing of it to load.
    if (listening && options.recognition == rts::Recognition::Eager)
      server->calls->load_recogniser (120);
    if (!listening) {
      g_printerr ("gst-openai-realtime-server: %s\n", error.c_str ());
      status = 1;
    } else {
      guint sigint = g_unix_signal_add (SIGINT, on_quit_signal, loop);
      guint sigterm = g_unix_signal_add (SIGTERM, on_quit_signal, loop);
      const bool v6 = options.address.find (':') != std::string::npos;
      printf ("listening on http://%s%s%s:%d\n", v6 ? "[" : "",
          options.address.c_str (), v6 ? "]" : "", server->http->port ());
      fflush (stdout);
      g_message ("media: %s, speech: %s, echo: %s, control: %s, strict ICE: %s",
          options.media == rts::MediaMode::Minimal ? "minimal" : "full",
          options.speech == rts::SpeechKind::Espeak ? "espeak" : "tone",
          options.echo ? "on" : "off", options.control ? "on" : "off",
          options.strict_ice == rts::StrictIce::Off         ? "off" :
              options.strict_ice == rts::StrictIce::Consent ? "consent" :
                                                              "all");
      g_main_loop_run (loop);
      g_source_remove (sigint);
      g_source_remove (sigterm);
    }
    worker.run_sync ([&] {
      if (listening) {
        server->calls
            ->end_all ();  // hang up every call before the HTTP side goes
        // Let the channel closes reach the peers, briefly, then free whatever is left.
        worker.iterate_until (
            [] { return rts::Call::lingering_pipelines () == 0; }, 300);
        rts::Call::release_lingering_pipelines ();
      }
      server.reset ();
    });
  }
  rts::set_server_worker (nullptr);
  g_main_loop_unref (loop);
  gst_deinit ();
  return status;
}
