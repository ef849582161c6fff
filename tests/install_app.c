/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An application built against the installed API (pkg-config
 * gst-openai-realtime-0.1): an ephemeraltokenprovider that is in no pipeline
 * handed to openairealtimesink through the context that
 * gst_ephemeral_token_provider_make_context() makes. Exits 0 once the sink
 * has started its call with a secret from that provider, 1 otherwise (within
 * 30 s). Without OPENAI_API_KEY it calls the local server at
 * $OPENAI_REALTIME_LOCAL_URL. */
#include <gst/gst.h>
#include <gst/openairealtime/tokenprovider.h>

struct App {
  GMainLoop *loop;
  GstElement *provider;
  int status;
};

static gboolean on_bus (GstBus *bus, GstMessage *msg, gpointer data)
{
  struct App *app = data;
  (void) bus;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;
    gst_message_parse_error (msg, &err, NULL);
    g_printerr ("error: %s\n", err->message);
    g_error_free (err);
    g_main_loop_quit (app->loop);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean poll_minted (gpointer data)
{
  struct App *app = data;
  guint minted = 0;
  g_object_get (app->provider, "secrets-minted", &minted, NULL);
  if (minted == 0)
    return G_SOURCE_CONTINUE;
  app->status = 0;
  g_main_loop_quit (app->loop);
  return G_SOURCE_REMOVE;
}

static gboolean on_timeout (gpointer data)
{
  struct App *app = data;
  g_printerr ("error: the sink minted no secret from the provider in 30 s\n");
  g_main_loop_quit (app->loop);
  return G_SOURCE_REMOVE;
}

int main (int argc, char **argv)
{
  struct App app = { NULL, NULL, 1 };
  GError *error = NULL;
  gst_init (&argc, &argv);
  app.provider = gst_element_factory_make ("ephemeraltokenprovider", NULL);
  GstElement *pipeline = gst_parse_launch (
      "audiotestsrc is-live=true ! openairealtimesink", &error);
  if (!app.provider || !pipeline) {
    g_printerr ("error: %s\n", error ? error->message : "no provider");
    return 1;
  }
  GstContext *context = gst_ephemeral_token_provider_make_context (
      app.provider);
  if (!context ||
      g_strcmp0 (gst_context_get_context_type (context),
          GST_EPHEMERAL_TOKEN_PROVIDER_CONTEXT) != 0) {
    g_printerr ("error: no context of type %s\n",
        GST_EPHEMERAL_TOKEN_PROVIDER_CONTEXT);
    return 1;
  }
  /* A bin gives the context to every element in it. */
  gst_element_set_context (pipeline, context);
  gst_context_unref (context);

  app.loop = g_main_loop_new (NULL, FALSE);
  GstBus *bus = gst_element_get_bus (pipeline);
  gst_bus_add_watch (bus, on_bus, &app);
  g_timeout_add (50, poll_minted, &app);
  g_timeout_add_seconds (30, on_timeout, &app);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  g_main_loop_run (app.loop);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  gst_object_unref (app.provider);
  g_main_loop_unref (app.loop);
  if (app.status == 0)
    g_print ("the sink's call started with a secret from the provider\n");
  return app.status;
}
