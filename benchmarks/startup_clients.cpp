/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "startup_clients.h"

#include <glib.h>

#include <cmath>
#include <cstring>

namespace startup_bench {

namespace {

constexpr const char *kNoLog = ":nolog";

/* The engine's and gst_init's moments, and nothing that logs per buffer:
 * realtimeagent's LOG lines are one per server event. */
constexpr const char *kPhaseLog =
    "GST_INIT:4,realtimecall:4,realtimecredentials:4,realtimeagent:6";

/* What docs/examples.md gives the examples: the plugin, no key (so the
 * local server), its address. The registry is the benchmark's own, so that
 * other GStreamer programs on the machine (other plugin paths) do not make
 * every start rescan the plugins. */
void gstreamer_env (const Setup &s, bool log, Client *c)
{
  c->env = { { "GST_PLUGIN_PATH", s.plugin_dir },
    { "GST_REGISTRY_1_0", s.registry },
    { "OPENAI_REALTIME_LOCAL_URL", s.server } };
  c->unset = { "OPENAI_API_KEY", "GST_DEBUG", "GST_DEBUG_FILE", "GST_TRACERS",
    "GST_PLUGIN_PATH_1_0", "GST_REGISTRY" };
  if (log && c->audio != AudioOut::kReported) {
    c->gst_log = true;
    c->env.emplace_back ("GST_DEBUG", kPhaseLog);
    c->env.emplace_back ("GST_DEBUG_NO_COLOR", "1");
  }
}

}  // namespace

const std::vector<std::string> &client_names ()
{
  static const std::vector<std::string> names = { "gst-launch", "ask-agent",
    "tool_agent.py", "bare", "aiortc" };
  return names;
}

bool make_client (const Setup &s, const std::string &full_name, Client *c)
{
  *c = Client ();
  c->name = full_name;
  /* NAME:nolog runs NAME without the debug log, beside NAME with it: what
   * the log costs, in the same run. */
  std::string name = full_name;
  const bool nolog = g_str_has_suffix (name.c_str (), kNoLog);
  if (nolog)
    name.resize (name.size () - strlen (kNoLog));
  if (name == "gst-launch") {
    /* README's first line with a live tone for the microphone, and the
     * agent's voice on fd 3 instead of the speakers. */
    c->argv = { "gst-launch-1.0", "ephemeraltokenprovider", "audiotestsrc",
      "is-live=true", "freq=440", "!", "openairealtimesink",
      "openairealtimesrc", "!", "fdsink", "fd=3" };
    c->interrupt = true;
    c->marks = { { 1, "Setting pipeline to PAUSED", "pipeline built" },
      { 1, "Setting pipeline to PLAYING", "PLAYING" } };
  } else if (name == "ask-agent") {
    c->argv = { s.ask_agent, s.question_wav, "-" };
    c->audio = AudioOut::kStdoutWav;
    c->interrupt = true;
    /* It says so just before PAUSED, and goes to PLAYING on
     * session.updated. */
    c->marks = { { 2, "calling the agent at", "pipeline built" },
      { 2, "connected; asking the question", "PLAYING" } };
  } else if (name == "tool_agent.py") {
    /* Its first audio is the answer to the typed question: it is a
     * listen-only agent, with no audio to echo. */
    c->argv = { s.tool_agent, "--ask", "Say hello.", "--audio-out",
      "/dev/fd/3" };
    c->interrupt = true;
  } else if (name == "bare") {
    c->argv = { s.self, "--kind", "bare", "--server", s.server, "--key", s.key,
      "--timeout", std::to_string (s.timeout_s) };
    c->audio = AudioOut::kReported;
    c->pass_spawn_time = true;
  } else if (name == "aiortc") {
    c->argv = { s.python, s.aiortc_script, "--server", s.server, "--key", s.key,
      "--timeout", std::to_string (s.timeout_s) };
    c->audio = AudioOut::kReported;
    c->pass_spawn_time = true;
  } else {
    return false;
  }
  gstreamer_env (s, s.phases && !nolog, c);
  return true;
}

bool write_question (const std::string &path)
{
  constexpr guint32 rate = 48000, tone = rate * 3 / 10, total = rate;
  std::string wav (44 + 2 * total, '\0');
  auto put32 = [&] (size_t at, guint32 v) {
    v = GUINT32_TO_LE (v);
    memcpy (&wav[at], &v, 4);
  };
  auto put16 = [&] (size_t at, guint16 v) {
    v = GUINT16_TO_LE (v);
    memcpy (&wav[at], &v, 2);
  };
  memcpy (&wav[0], "RIFF", 4);
  put32 (4, static_cast<guint32> (wav.size () - 8));
  memcpy (&wav[8], "WAVEfmt ", 8);
  put32 (16, 16);
  put16 (20, 1);  // PCM
  put16 (22, 1);  // mono
  put32 (24, rate);
  put32 (28, rate * 2);
  put16 (32, 2);
  put16 (34, 16);
  memcpy (&wav[36], "data", 4);
  put32 (40, 2 * total);
  for (guint32 i = 0; i < tone; i++)
    put16 (44 + 2 * i,
        static_cast<guint16> (static_cast<gint16> (
            0.8 * 32767 * std::sin (2 * G_PI * 440 * i / rate))));
  return g_file_set_contents (path.c_str (), wav.data (),
      static_cast<gssize> (wav.size ()), nullptr);
}

}  // namespace startup_bench
