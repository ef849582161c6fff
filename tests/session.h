/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A user pipeline around the elements, against the local realtime server:
 * everything it reports is recorded for the assertions of the call tests. */
#pragma once

#include "audio_analysis.h"
#include "local_server.h"

#include <gst/app/gstappsink.h>
#include <gst/check/gstcheck.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

using namespace std::chrono_literals;

/* What the Session itself requires; a program outside a check run (the
 * recovery benchmark) defines its own before including this file. */
#ifndef SESSION_REQUIRE
#define SESSION_REQUIRE(expr, ...) fail_unless (expr, __VA_ARGS__)
#endif

inline test::LocalServer server;

/* GStreamer 1.22.0's webrtcbin can hand RTCP from a new transport's
 * srtpdec downstream before its segment event; the pad warns, and nothing
 * is lost (RTCP only). Seen about once in a hundred rebuilt calls. Every
 * other warning still fails a test. */
inline void ignore_known_gstreamer_warnings ()
{
  gst_check_add_log_filter ("GStreamer", G_LOG_LEVEL_WARNING,
      g_regex_new ("srtpdec[0-9]+:rtcp_src> Got data flow before segment event",
          (GRegexCompileFlags) 0, (GRegexMatchFlags) 0, nullptr),
      nullptr, nullptr, nullptr);
}

namespace test {

/* A count from the environment (a soak's length), or the fallback. */
inline unsigned env_uint (const char *name, unsigned fallback)
{
  const char *v = g_getenv (name);
  return v && *v ? (unsigned) g_ascii_strtoull (v, nullptr, 10) : fallback;
}

}  // namespace test

/* Fixtures: one server for a whole suite, stopped with it. */
inline void local_server_up_with (const std::string &args)
{
  ignore_known_gstreamer_warnings ();
  fail_unless (server.start (args), "the local realtime server did not start");
}

inline void local_server_up ()
{
  local_server_up_with ("");
}

inline void local_server_down ()
{
  server.stop ();
}

/* One user pipeline: input ! openairealtimesink, openairealtimesrc ! appsink,
 * with everything it reports recorded for the assertions. */
struct Session {
  GstElement *pipeline = nullptr;
  GstElement *src = nullptr;
  GstElement *sink = nullptr;

  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> signalled; /* server-event types, in order */
  std::vector<std::string> signalled_json;
  std::vector<std::string> posted;   /* element message types */
  std::vector<std::string> errors;   /* error message texts */
  std::vector<std::string> warnings; /* warning message texts */
  std::vector<std::string> messages; /* names of every element message */
  std::vector<size_t> event_at;      /* audio.size () when each event came */
  std::vector<int16_t> audio;        /* what the src gave, 48 kHz mono */
  struct Change {
    std::string state, reason, category;
    guint attempt;
    gint64 at_us;
  };
  std::vector<Change> changes; /* openai-realtime-connection messages */

  /* call_props go on both the sink and the src: whichever starts the call
   * configures it. */
  explicit Session (const std::string &provider_props,
      const std::string &input =
          "audiotestsrc is-live=true freq=440 volume=0.5",
      const std::string &src_props = "", const std::string &call_props = "",
      const std::string &extra = "")
  {
    build ("ephemeraltokenprovider name=p api-base=" + server.base + " " +
        provider_props + " " + input + " ! openairealtimesink name=sink " +
        call_props + " openairealtimesrc name=src " + src_props + " " +
        call_props + " ! appsink name=out sync=false " + extra);
  }

  /* A pipeline described whole (one whose audio takes other paths): it
   * names its elements src, sink and out (an appsink) as the one above. */
  struct Whole {
    std::string description;
  };
  explicit Session (const Whole &whole) { build (whole.description); }

  void build (const std::string &desc)
  {
    GError *error = nullptr;
    pipeline = gst_parse_launch (desc.c_str (), &error);
    SESSION_REQUIRE (pipeline != nullptr, "%s", error ? error->message : "");
    src = gst_bin_get_by_name (GST_BIN (pipeline), "src");
    sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
    g_signal_connect (src, "server-event", G_CALLBACK (on_event), this);
    GstElement *out = gst_bin_get_by_name (GST_BIN (pipeline), "out");
    GstAppSinkCallbacks cb = {};
    cb.new_sample = on_sample;
    gst_app_sink_set_callbacks (GST_APP_SINK (out), &cb, this, nullptr);
    gst_object_unref (out);
    GstBus *bus = gst_element_get_bus (pipeline);
    gst_bus_set_sync_handler (bus, on_bus, this, nullptr);
    gst_object_unref (bus);
  }

  ~Session ()
  {
    stop ();
    gst_object_unref (src);
    gst_object_unref (sink);
    gst_object_unref (pipeline);
  }

  void play () { gst_element_set_state (pipeline, GST_STATE_PLAYING); }
  void stop () { gst_element_set_state (pipeline, GST_STATE_NULL); }

  static void on_event (GstElement *, const char *type, const char *json,
      gpointer data)
  {
    auto *self = static_cast<Session *> (data);
    std::lock_guard<std::mutex> l (self->m);
    self->signalled.emplace_back (type);
    self->signalled_json.emplace_back (json);
    self->event_at.push_back (self->audio.size ());
    self->cv.notify_all ();
  }

  static GstFlowReturn on_sample (GstAppSink *appsink, gpointer data)
  {
    auto *self = static_cast<Session *> (data);
    GstSample *sample = gst_app_sink_pull_sample (appsink);
    GstMapInfo map;
    GstBuffer *buf = gst_sample_get_buffer (sample);
    gst_buffer_map (buf, &map, GST_MAP_READ);
    {
      std::lock_guard<std::mutex> l (self->m);
      auto *p = reinterpret_cast<const int16_t *> (map.data);
      self->audio.insert (self->audio.end (), p, p + map.size / 2);
      self->cv.notify_all ();
    }
    gst_buffer_unmap (buf, &map);
    gst_sample_unref (sample);
    return GST_FLOW_OK;
  }

  static GstBusSyncReply on_bus (GstBus *, GstMessage *msg, gpointer data)
  {
    auto *self = static_cast<Session *> (data);
    std::lock_guard<std::mutex> l (self->m);
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *err = nullptr;
      gst_message_parse_error (msg, &err, nullptr);
      self->errors.emplace_back (err->message);
      g_error_free (err);
    } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING) {
      GError *err = nullptr;
      gst_message_parse_warning (msg, &err, nullptr);
      self->warnings.emplace_back (err->message);
      g_error_free (err);
    } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT) {
      self->messages.emplace_back (
          gst_structure_get_name (gst_message_get_structure (msg)));
    }
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT &&
        gst_message_has_name (msg, "openai-realtime-event")) {
      self->posted.emplace_back (
          gst_structure_get_string (gst_message_get_structure (msg), "type"));
    } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT &&
        gst_message_has_name (msg, "openai-realtime-connection")) {
      const GstStructure *st = gst_message_get_structure (msg);
      Change c;
      gint state = 0;
      gst_structure_get_enum (st, "state",
          g_type_from_name ("GstOpenAIRealtimeConnectionState"), &state);
      GEnumClass *ec = G_ENUM_CLASS (g_type_class_ref (
          g_type_from_name ("GstOpenAIRealtimeConnectionState")));
      c.state = g_enum_get_value (ec, state)->value_nick;
      g_type_class_unref (ec);
      gst_structure_get_uint (st, "attempt", &c.attempt);
      c.reason = gst_structure_get_string (st, "reason");
      c.category = gst_structure_get_string (st, "category");
      c.at_us = g_get_monotonic_time ();
      self->changes.push_back (c);
    }
    self->cv.notify_all ();
    gst_message_unref (msg);
    return GST_BUS_DROP;
  }

  /* Waits until pred() holds (under the lock); false on timeout. Bounds
   * stretch with CK_TIMEOUT_MULTIPLIER, as check's own test timeouts do
   * (valgrind runs everything tens of times slower). */
  template <typename Pred>
  bool wait (Pred pred, std::chrono::milliseconds t = 10s)
  {
    static const double factor = [] {
      const char *v = g_getenv ("CK_TIMEOUT_MULTIPLIER");
      double f = v ? g_ascii_strtod (v, nullptr) : 1.0;
      return f >= 1.0 ? f : 1.0;
    }();
    std::unique_lock<std::mutex> l (m);
    return cv.wait_for (l,
        std::chrono::duration_cast<std::chrono::milliseconds> (t * factor),
        pred);
  }

  bool wait_event (const std::string &type, std::chrono::milliseconds t = 10s)
  {
    return wait (
        [&] {
          return std::find (signalled.begin (), signalled.end (), type) !=
              signalled.end ();
        },
        t);
  }

  size_t count_event (const std::string &type)
  {
    std::lock_guard<std::mutex> l (m);
    return std::count (signalled.begin (), signalled.end (), type);
  }

  size_t audio_size ()
  {
    std::lock_guard<std::mutex> l (m);
    return audio.size ();
  }

  /* Waits for at least n samples of audio after position from. */
  bool wait_audio (size_t from, size_t n, std::chrono::milliseconds t = 10s)
  {
    return wait ([&] { return audio.size () >= from + n; }, t);
  }

  /* The server events so far, their types in order (for failure
   * messages). */
  std::string event_types ()
  {
    std::lock_guard<std::mutex> l (m);
    std::string out;
    for (const auto &t : signalled)
      out += (out.empty () ? "" : " ") + t;
    return out;
  }

  /* The connection messages so far as "state/attempt[/category] ...". */
  std::string transitions ()
  {
    std::lock_guard<std::mutex> l (m);
    std::string out;
    for (auto &c : changes)
      out += (out.empty () ? "" : " ") + c.state + "/" +
          std::to_string (c.attempt) +
          (c.category.empty () ? "" : "/" + c.category);
    return out;
  }

  bool send (const char *json)
  {
    gboolean ok = FALSE;
    g_signal_emit_by_name (src, "send-client-event", json, &ok);
    return ok;
  }
};

/* The echo of the 440 Hz input, heard after a stretch of silence that
 * starts at or after sample from: the silence proves the earlier call's
 * audio is gone, the tone that the new call carries it again. */
inline bool echo_back (Session &s, size_t from,
    std::chrono::milliseconds t = 10s)
{
  /* Windows already judged are not judged again: the predicate runs on
   * every buffer that arrives. */
  long at = -1;
  size_t next = 0;
  return s.wait (
      [&] {
        if (at < 0) {
          long quiet = -1;
          for (size_t i = from; i + 2400 <= s.audio.size (); i += 480)
            if (test::rms (s.audio, i, 2400) < 0.005) {
              quiet = (long) i;
              break;
            }
          if (quiet < 0)
            return false;
          at = test::first_loud_window (s.audio, quiet, 4800, 0.05);
          if (at < 0)
            return false;
          next = size_t (at);
        }
        /* Any 200 ms of the tone from its onset on: a loaded machine can put a
     * gap into the first window (a jitter buffer filling), and the echo is
     * no less there for it. */
        for (; next + 9600 <= s.audio.size (); next += 4800)
          if (test::rms (s.audio, next, 9600) > 0.05 &&
              std::abs (test::dominant_frequency (s.audio, next, 9600) - 440) <
                  15)
            return true;
        return false;
      },
      t);
}

inline bool echo_heard (Session &s)
{
  /* Any 200 ms of the tone from the first sound on, not that first window
   * alone: a loaded machine can put a gap into it (a jitter buffer
   * filling), and it would be judged again and again. */
  long at = -1;
  size_t next = 0;
  return s.wait ([&] {
    if (at < 0) {
      at = test::first_loud_window (s.audio, 0, 4800, 0.05);
      if (at < 0)
        return false;
      next = size_t (at);
    }
    for (; next + 9600 <= s.audio.size (); next += 4800)
      if (test::rms (s.audio, next, 9600) > 0.05 &&
          std::abs (test::dominant_frequency (s.audio, next, 9600) - 440) < 15)
        return true;
    return false;
  });
}

inline size_t count_state (Session &s, const std::string &state)
{
  return std::count_if (s.changes.begin (), s.changes.end (),
      [&] (const Session::Change &c) { return c.state == state; });
}

inline void expect_transitions (Session &s, const char *expected)
{
  std::string seen = s.transitions ();
  fail_unless_equals_string (seen.c_str (), expected);
}

inline void expect_no_error (Session &s)
{
  std::lock_guard<std::mutex> l (s.m);
  fail_unless (s.errors.empty (), "the user pipeline saw an error: %s",
      s.errors.empty () ? "" : s.errors[0].c_str ());
}

/* The provider's properties for the local server's key. */
inline std::string key ()
{
  return "api-key=" + server.api_key;
}

/* An action signal that takes nothing and returns a boolean. */
inline bool emit_bool (GstElement *e, const char *signal)
{
  gboolean ok = FALSE;
  g_signal_emit_by_name (e, signal, &ok);
  return ok;
}

inline bool send_text (GstElement *e, const char *text, bool respond)
{
  gboolean ok = FALSE;
  g_signal_emit_by_name (e, "send-text", text, (gboolean) respond, &ok);
  return ok;
}

inline guint64 uint64_prop (GstElement *e, const char *name)
{
  guint64 v = 0;
  g_object_get (e, name, &v, nullptr);
  return v;
}

/* Validates every client event the server received against the service's
 * published shapes (../shared/protocol/validate-events). */
inline void validate_client_events (JsonNode *log)
{
  const char *validator = g_getenv ("VALIDATE_EVENTS");
  if (!validator || !g_file_test (validator, G_FILE_TEST_IS_EXECUTABLE)) {
    g_print ("validate-events not found: client events not validated\n");
    return;
  }
  gchar *path = nullptr;
  gint fd = g_file_open_tmp ("client-events-XXXXXX.jsonl", &path, nullptr);
  fail_unless (fd >= 0);
  GString *lines = g_string_new (nullptr);
  int n = 0;
  JsonArray *calls = json_object_get_array_member (json_node_get_object (log),
      "calls");
  for (guint i = 0; i < json_array_get_length (calls); i++) {
    JsonArray *events = json_object_get_array_member (
        json_array_get_object_element (calls, i), "events");
    for (guint j = 0; events && j < json_array_get_length (events); j++) {
      gchar *text = json_to_string (json_array_get_element (events, j), FALSE);
      g_string_append_printf (lines, "%s\n", text);
      g_free (text);
      n++;
    }
  }
  fail_unless (g_file_set_contents (path, lines->str, lines->len, nullptr));
  g_string_free (lines, TRUE);
  close (fd);
  fail_unless (n > 0, "the server saw no client event at all");
  gchar *out = nullptr;
  gint status = 0;
  const gchar *argv[] = { validator, path, nullptr };
  /* The validator is Python: the sanitizer runtime preloaded for the
   * plugin's sake is not for it. */
  gchar **envp = g_environ_unsetenv (g_get_environ (), "LD_PRELOAD");
  fail_unless (g_spawn_sync (nullptr, (gchar **) argv, envp, G_SPAWN_DEFAULT,
      nullptr, nullptr, &out, nullptr, &status, nullptr));
  g_strfreev (envp);
  fail_unless (g_spawn_check_wait_status (status, nullptr),
      "client events do not match the service's shapes:\n%s", out);
  g_free (out);
  g_unlink (path);
  g_free (path);
}

inline JsonObject *only_call (JsonNode *log)
{
  JsonArray *calls = json_object_get_array_member (json_node_get_object (log),
      "calls");
  fail_unless_equals_int (json_array_get_length (calls), 1);
  return json_array_get_object_element (calls, 0);
}
