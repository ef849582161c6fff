/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Asks a realtime agent one spoken question and records its spoken answer.
 *
 *   gst-openai-realtime-ask QUESTION.wav REPLY.wav [INSTRUCTIONS]
 *   gst-openai-realtime-ask QUESTION.wav - | aplay     the answer on stdout as it comes
 *
 * The pipeline is the one a gst-launch-1.0 user would write:
 *
 *   ephemeraltokenprovider instructions=...
 *   filesrc location=QUESTION.wav ! decodebin ! openairealtimesink
 *   openairealtimesrc ! wavenc ! filesink location=REPLY.wav
 *
 * It goes to PAUSED first: the call starts there while the file waits in
 * preroll, so the question is not spoken into a call that is not up yet (the
 * sink drops such audio). Once the agent has answered, an EOS finishes the
 * WAV file. With REPLY.wav "-" the answer is written to stdout as a WAV
 * stream while it arrives (the messages go to stderr). Ctrl-C hangs up.
 * With OPENAI_API_KEY set it talks to the OpenAI service, without it to the
 * local realtime server. */
#include <glib-unix.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include <csignal>
#include <cstdio>
#include <string>

struct App {
  GMainLoop *loop;
  GstElement *pipeline;
  bool playing = false;
  bool answered = false;
  bool audio_done = false;
  bool eos_sent = false;
  bool to_stdout = false;
  int status = 1;
  std::string transcript;
};

static std::string member (const char *json, const char *name)
{
  JsonNode *node = json_from_string (json, nullptr);
  std::string out;
  if (node && JSON_NODE_HOLDS_OBJECT (node))
    out = json_object_get_string_member_with_default (
        json_node_get_object (node), name, "");
  if (node)
    json_node_unref (node);
  return out;
}

static void on_event (App *app, const char *type, const char *json)
{
  std::string t (type);
  if (t == "session.updated" && !app->playing) {
    app->playing = true;
    g_print ("connected; asking the question\n");
    gst_element_set_state (app->pipeline, GST_STATE_PLAYING);
  } else if (t == "conversation.item.input_audio_transcription.completed") {
    g_print ("you: %s\n", member (json, "transcript").c_str ());
  } else if (t == "response.output_audio_transcript.done") {
    app->transcript = member (json, "transcript");
    g_print ("agent: %s\n", app->transcript.c_str ());
  } else if (t == "response.done") {
    app->answered = true;
  } else if (t == "output_audio_buffer.stopped") {
    app->audio_done = true;
  } else if (t == "error") {
    g_printerr ("service error event: %s\n", json);
  }
  if (app->answered && app->audio_done && !app->eos_sent) {
    app->eos_sent = true;
    if (app->to_stdout) {
      /* A pipe cannot take the header's final sizes (wavenc seeks back at
       * EOS): the stream's header says "until the end" instead. */
      app->status = app->transcript.empty () ? 1 : 0;
      g_main_loop_quit (app->loop);
    } else {
      gst_element_send_event (app->pipeline, gst_event_new_eos ());
    }
  }
}

static gboolean on_bus (GstBus *, GstMessage *msg, gpointer data)
{
  auto *app = static_cast<App *> (data);
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:
      if (gst_message_has_name (msg, "openai-realtime-event")) {
        const GstStructure *s = gst_message_get_structure (msg);
        on_event (app, gst_structure_get_string (s, "type"),
            gst_structure_get_string (s, "json"));
      }
      break;
    case GST_MESSAGE_ERROR: {
      GError *err = nullptr;
      gst_message_parse_error (msg, &err, nullptr);
      g_printerr ("error: %s\n", err->message);
      g_error_free (err);
      g_main_loop_quit (app->loop);
      break;
    }
    case GST_MESSAGE_EOS:
      app->status = app->transcript.empty () ? 1 : 0;
      g_main_loop_quit (app->loop);
      break;
    default: break;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean on_interrupt (gpointer data)
{
  auto *app = static_cast<App *> (data);
  g_printerr ("interrupted\n");
  app->status = 130;
  g_main_loop_quit (app->loop);
  return G_SOURCE_REMOVE;
}

static gboolean on_timeout (gpointer data)
{
  auto *app = static_cast<App *> (data);
  g_printerr ("error: no answer from the agent in time\n");
  g_main_loop_quit (app->loop);
  return G_SOURCE_REMOVE;
}

int main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  if (argc < 3) {
    g_printerr ("usage: %s QUESTION.wav REPLY.wav|- [INSTRUCTIONS]\n", argv[0]);
    return 2;
  }
  const char *instructions = argc > 3 ? argv[3] :
                                        "Answer in one short sentence.";
  App app;
  app.to_stdout = g_strcmp0 (argv[2], "-") == 0;
  if (app.to_stdout)
    g_set_print_handler ([] (const gchar *text) { fputs (text, stderr); });
  /* fdsink writes each block as it comes; filesink would buffer 64 KiB. */
  gchar *output = app.to_stdout ?
      g_strdup ("fdsink fd=1") :
      g_strdup_printf ("filesink location=\"%s\"", argv[2]);
  gchar *desc = g_strdup_printf (
      "ephemeraltokenprovider name=provider "
      "filesrc location=\"%s\" ! decodebin ! audioconvert ! audioresample ! "
      "openairealtimesink name=agent "
      "openairealtimesrc name=voice ! wavenc ! %s",
      argv[1], output);
  g_free (output);
  GError *error = nullptr;
  app.loop = g_main_loop_new (nullptr, FALSE);
  app.pipeline = gst_parse_launch (desc, &error);
  g_free (desc);
  if (!app.pipeline || error) {
    /* A missing element leaves a pipeline without it, and an error. */
    g_printerr ("error: %s\n", error ? error->message : "no pipeline");
    g_clear_error (&error);
    if (app.pipeline)
      gst_object_unref (app.pipeline);
    return 2;
  }
  GstElement *provider = gst_bin_get_by_name (GST_BIN (app.pipeline),
      "provider");
  g_object_set (provider, "instructions", instructions, nullptr);
  gst_object_unref (provider);
  /* The service transcribes the question too: "you: ..." below. */
  GstElement *agent = gst_bin_get_by_name (GST_BIN (app.pipeline), "agent");
  g_object_set (agent, "transcription-model", "gpt-4o-mini-transcribe",
      nullptr);
  gst_object_unref (agent);

  GstBus *bus = gst_element_get_bus (app.pipeline);
  gst_bus_add_watch (bus, on_bus, &app);
  gst_object_unref (bus);
  g_timeout_add_seconds (60, on_timeout, &app);
  /* Going to NULL below hangs the call up; dying of SIGINT would not. */
  g_unix_signal_add (SIGINT, on_interrupt, &app);

  g_print ("calling the agent at %s\n",
      g_getenv ("OPENAI_API_KEY") && *g_getenv ("OPENAI_API_KEY") ?
          "the OpenAI service" :
          "the local realtime server");
  gst_element_set_state (app.pipeline, GST_STATE_PAUSED);
  g_main_loop_run (app.loop);
  gst_element_set_state (app.pipeline, GST_STATE_NULL);
  gst_object_unref (app.pipeline);
  g_main_loop_unref (app.loop);
  if (app.status == 0 && !app.to_stdout)
    g_print ("reply written to %s\n", argv[2]);
  return app.status;
}
