/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The local server hears what the user says: a question spoken by
 * espeak-ng into openairealtimesink comes back as the user's transcript,
 * and the agent's default reply quotes it. A suite of its own, so that its
 * server's recogniser has heard nothing before. */
#include "session.h"
#include "transcripts.h"

#include <gst/check/gstcheck.h>

namespace {

/* pocketsphinx gets these words right from espeak-ng's American voice,
 * the first time and every time after (others it often does not: "what
 * time is it" came out as "what type it"). */
const char *kQuestion = "What is the weather today?";
const char *const kWords[] = { "what", "weather", "today" };

/* Whether word is one of the words of text (the recogniser's words are
 * lower case, separated by single spaces). */
bool has_word (const std::string &text, const char *word)
{
  gchar **words = g_strsplit (text.c_str (), " ", -1);
  bool found = g_strv_contains (words, word);
  g_strfreev (words);
  return found;
}

}  // namespace

GST_START_TEST (test_spoken_question)
{
  /* The question, then 1.5 s of quiet: the server's VAD ends the turn
   * after 0.5 s of it, before the file ends. */
  gchar *dir = g_dir_make_tmp ("recognition-XXXXXX", nullptr);
  fail_unless (dir != nullptr);
  gchar *wav = g_build_filename (dir, "question.wav", nullptr);
  const std::string ssml = std::string (kQuestion) + "<break time=\"1500ms\"/>";
  const char *argv[] = { "espeak-ng", "-m", "-v", "en-us", "-w", wav,
    ssml.c_str (), nullptr };
  /* Not with the sanitizers' runtime preloaded: espeak-ng is not under
   * test, and hangs with it. */
  gchar **env = g_environ_unsetenv (g_get_environ (), "LD_PRELOAD");
  gint status = -1;
  GError *error = nullptr;
  fail_unless (g_spawn_sync (nullptr, (gchar **) argv, env, G_SPAWN_SEARCH_PATH,
                   nullptr, nullptr, nullptr, nullptr, &status, &error) &&
          g_spawn_check_wait_status (status, nullptr),
      "espeak-ng (Debian: espeak-ng) did not speak the question: %s",
      error ? error->message : "it failed");
  g_strfreev (env);

  Session s (key (),
      std::string ("filesrc location=\"") + wav +
          "\" ! wavparse ! audioconvert ! audioresample",
      "", "transcription-model=gpt-4o-mini-transcribe");
  Transcripts t (s);
  /* The call starts in PAUSED, with the question waiting in preroll: none
   * of it is spoken before the call is up. */
  gst_element_set_state (s.pipeline, GST_STATE_PAUSED);
  fail_unless (s.wait_event ("session.updated", 20s), "no call: %s",
      s.transitions ().c_str ());
  s.play ();
  fail_unless (t.wait_final ("user", 1, 30s), "no transcript of the user: %s",
      s.event_types ().c_str ());
  fail_unless (t.wait_final ("assistant", 1, 30s), "no reply: %s",
      s.event_types ().c_str ());

  const std::string heard = t.finals ("user")[0].text;
  const std::string reply = t.finals ("assistant")[0].text;
  for (const char *word : kWords)
    fail_unless (has_word (heard, word),
        "\"%s\" is not in the user's transcript \"%s\" (no recogniser: "
        "Debian's gstreamer1.0-pocketsphinx and pocketsphinx-en-us)",
        word, heard.c_str ());
  const std::string expected = "You asked: " + heard + ".";
  fail_unless_equals_string (reply.c_str (), expected.c_str ());
  fail_unless_equals_int (
      s.count_event ("conversation.item.input_audio_transcription.completed"),
      1);
  expect_no_error (s);
  s.stop ();

  g_unlink (wav);
  g_rmdir (dir);
  g_free (wav);
  g_free (dir);
}
GST_END_TEST;

/* The model loaded before the server says it is listening, so that the
 * question, the first turn it hears, has its words. */
static void recognising_server_up ()
{
  local_server_up_with ("--recognition eager");
}

static Suite *recognition_suite ()
{
  Suite *s = suite_create ("recognition");
  TCase *tc = tcase_create ("recognition");
  tcase_add_unchecked_fixture (tc, recognising_server_up, local_server_down);
  tcase_set_timeout (tc, 90);
  tcase_add_test (tc, test_spoken_question);
  suite_add_tcase (s, tc);
  return s;
}

GST_CHECK_MAIN (recognition);
