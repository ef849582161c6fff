/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "recogniser.h"

#include "main_thread.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace rts {

namespace {

// The turn goes in 100 ms buffers: the deadline is checked between them.
constexpr size_t kChunk = kSampleRate / 10;
// How long a turn may wait for its words, queueing and loading included, before it goes
// without: far more than recognition takes (a fifth of the turn's length on an idle core), so
// that only a stuck or starved decoder makes a reply wait this long.
constexpr gint64 kBoundUs = 15 * G_USEC_PER_SEC;
constexpr double kBoundPerTurnSecond = 2;

// pocketsphinx writes its whole configuration (over 100 lines) to stderr each time it makes a
// decoder: sphinxbase's log file, apart from the messages the element sends to GStreamer's debug
// log. The server's stderr is its log, so that file is closed (the library is the element's,
// already loaded: nothing is loaded here).
void quiet_sphinxbase ()
{
  void *lib = dlopen ("libsphinxbase.so.3", RTLD_NOW | RTLD_NOLOAD);
  if (!lib)
    return;
  using SetLogFile = void (*) (FILE *);
  if (auto set = reinterpret_cast<SetLogFile> (dlsym (lib, "err_set_logfp")))
    set (nullptr);
  dlclose (lib);
}

}  // namespace

std::unique_ptr<Recogniser> Recogniser::create ()
{
  const char *without = "transcripts and replies give the length of each turn "
                        "instead of its words";
  GstElement *probe = gst_element_factory_make ("pocketsphinx", nullptr);
  if (!probe) {
    g_warning ("no speech recognition: GStreamer's pocketsphinx element is "
               "missing (Debian: gstreamer1.0-pocketsphinx); %s",
        without);
    return nullptr;
  }
  std::string missing;
  for (const char *property : { "hmm", "lm", "dict" }) {
    gchar *path = nullptr;
    g_object_get (probe, property, &path, nullptr);
    if (missing.empty () && (!path || !g_file_test (path, G_FILE_TEST_EXISTS)))
      missing = path ? path : property;
    g_free (path);
  }
  gst_object_unref (probe);
  if (!missing.empty ()) {
    g_warning ("no speech recognition: pocketsphinx's model %s is missing "
               "(Debian: pocketsphinx-en-us); %s",
        missing.c_str (), without);
    return nullptr;
  }
  quiet_sphinxbase ();
  return std::unique_ptr<Recogniser> (new Recogniser ());
}

Recogniser::Recogniser () : thread_ ([this] { run (); })
{
}

Recogniser::~Recogniser ()
{
  {
    std::lock_guard<std::mutex> l (lock_);
    stopping_ = true;
  }
  wake_.notify_all ();
  thread_.join ();
}

void Recogniser::prepare ()
{
  {
    std::lock_guard<std::mutex> l (lock_);
    load_wanted_ = true;
  }
  wake_.notify_all ();
}

bool Recogniser::load_now (gint64 timeout_us)
{
  prepare ();
  std::unique_lock<std::mutex> l (lock_);
  loaded_.wait_for (l, std::chrono::microseconds (timeout_us), [this] {
    const State s = state_.load ();
    return s == State::Ready || s == State::Failed;
  });
  return state_.load () == State::Ready;
}

void Recogniser::recognise (Pcm pcm, std::weak_ptr<void> owner, Done done)
{
  Job job;
  job.deadline_us = g_get_monotonic_time () + kBoundUs +
      static_cast<gint64> (
          kBoundPerTurnSecond * pcm.size () * G_USEC_PER_SEC / kSampleRate);
  job.pcm = std::move (pcm);
  job.owner = std::move (owner);
  job.done = std::move (done);
  {
    std::lock_guard<std::mutex> l (lock_);
    jobs_.push_back (std::move (job));
  }
  wake_.notify_all ();
}

void Recogniser::run ()
{
  for (;;) {
    Job job;
    bool have_job = false;
    {
      std::unique_lock<std::mutex> l (lock_);
      wake_.wait (l,
          [this] { return stopping_ || load_wanted_ || !jobs_.empty (); });
      if (stopping_)
        break;
      load_wanted_ = false;
      if (!jobs_.empty ()) {
        job = std::move (jobs_.front ());
        jobs_.pop_front ();
        have_job = true;
      }
    }
    if (!pipeline_ && !failed_) {
      state_ = State::Loading;
      failed_ = !load ();
      {
        std::lock_guard<std::mutex> l (lock_);
        state_ = failed_ ? State::Failed : State::Ready;
      }
      loaded_.notify_all ();
    }
    if (!have_job)
      continue;
    std::string words;
    // A turn whose call has ended is not worth the time.
    if (pipeline_ && !job.owner.expired ()) {
      const gint64 start_us = g_get_monotonic_time ();
      const bool primed = fresh_;
      if (fresh_) {
        // pocketsphinx normalises the channel (cepstral mean) from what it has heard so far,
        // starting from its model's defaults, which suit this audio poorly: espeak-ng's "what
        // is the capital of france" came out as "what is a copy on bruce" from a fresh
        // decoder, right after it. The first turn is heard once unanswered.
        std::string unused;
        decode (job.pcm, job.deadline_us, &unused);
        fresh_ = false;
      }
      if (!decode (job.pcm, job.deadline_us, &words))
        words.clear ();
      g_debug ("speech recognition: a turn of %.1f s in %.2f s%s, %zu words",
          double (job.pcm.size ()) / kSampleRate,
          (g_get_monotonic_time () - start_us) / 1e6,
          primed ? " (heard twice)" : "", split_words (words).size ());
    }
    server_worker ().post (
        [owner = job.owner, done = std::move (job.done), words] () {
          if (owner.lock ())
            done (words);
        });
  }
  unload ();
}

bool Recogniser::load ()
{
  GError *error = nullptr;
  // No source element: the recogniser's thread pushes each turn through the pipeline itself,
  // so decoding runs on it, and no sink waits for a clock or a preroll.
  pipeline_ = gst_parse_launch (
      "audioconvert name=convert ! audioresample ! "
      "audio/x-raw,format=S16LE,rate=16000,channels=1 ! pocketsphinx ! "
      "fakesink sync=false async=false",
      &error);
  if (!pipeline_ || error) {
    g_warning ("no speech recognition: %s",
        error ? error->message : "no pipeline");
    g_clear_error (&error);
    unload ();
    return false;
  }
  GstElement *convert = gst_bin_get_by_name (GST_BIN (pipeline_), "convert");
  GstPad *sink = gst_element_get_static_pad (convert, "sink");
  feed_ = gst_pad_new ("feed", GST_PAD_SRC);
  gst_pad_link (feed_, sink);
  gst_object_unref (sink);
  gst_object_unref (convert);
  gint64 start = g_get_monotonic_time ();
  // The decoder loads its model on the way to READY.
  if (gst_element_set_state (pipeline_, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    g_warning ("no speech recognition: pocketsphinx did not start");
    unload ();
    return false;
  }
  gst_pad_set_active (feed_, TRUE);
  gst_pad_push_event (feed_, gst_event_new_stream_start ("recogniser"));
  GstCaps *caps = gst_caps_from_string (
      "audio/x-raw,format=S16LE,rate=48000,channels=1,layout=interleaved");
  gst_pad_push_event (feed_, gst_event_new_caps (caps));
  gst_caps_unref (caps);
  g_message ("speech recognition: pocketsphinx loaded in %.1f s",
      (g_get_monotonic_time () - start) / 1e6);
  fresh_ = true;
  return true;
}

void Recogniser::unload ()
{
  if (feed_) {
    gst_pad_set_active (feed_, FALSE);
    gst_object_unref (feed_);
    feed_ = nullptr;
  }
  if (pipeline_) {
    gst_element_set_state (pipeline_, GST_STATE_NULL);
    gst_object_unref (pipeline_);
    pipeline_ = nullptr;
  }
}

bool Recogniser::decode (const Pcm &pcm, gint64 deadline_us, std::string *words)
{
  const gint64 start_us = g_get_monotonic_time ();
  GstSegment segment;
  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_pad_push_event (feed_, gst_event_new_segment (&segment));
  GstFlowReturn flow = GST_FLOW_OK;
  bool in_time = true;
  for (size_t from = 0; from < pcm.size () && flow == GST_FLOW_OK;
       from += kChunk) {
    if (stopping_ || g_get_monotonic_time () > deadline_us) {
      in_time = false;
      break;
    }
    const size_t n = std::min (kChunk, pcm.size () - from);
    GstBuffer *buffer = gst_buffer_new_memdup (pcm.data () + from,
        n * sizeof (int16_t));
    GST_BUFFER_PTS (
        buffer) = gst_util_uint64_scale (from, GST_SECOND, kSampleRate);
    GST_BUFFER_DURATION (
        buffer) = gst_util_uint64_scale (n, GST_SECOND, kSampleRate);
    flow = gst_pad_push (feed_, buffer);
  }
  // The end of the stream ends the utterance, even a cut one, so that none of it is carried
  // into the next: its final hypothesis goes on the bus (as do earlier ones, when the decoder
  // heard a pause and ended an utterance by itself).
  gst_pad_push_event (feed_, gst_event_new_eos ());
  words->clear ();
  bool failed = flow != GST_FLOW_OK;
  GstBus *bus = gst_element_get_bus (pipeline_);
  while (GstMessage *msg = gst_bus_pop_filtered (bus,
             static_cast<GstMessageType> (
                 GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR))) {
    const GstStructure *s = gst_message_get_structure (msg);
    gboolean final = FALSE;
    const gchar *hypothesis = nullptr;
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *error = nullptr;
      gst_message_parse_error (msg, &error, nullptr);
      g_warning ("speech recognition failed: %s", error->message);
      g_error_free (error);
      failed = true;
    } else if (gst_structure_has_name (s, "pocketsphinx") &&
        gst_structure_get_boolean (s, "final", &final) && final &&
        (hypothesis = gst_structure_get_string (s, "hypothesis")) &&
        *hypothesis) {
      if (!words->empty ())
        *words += ' ';
      *words += hypothesis;
    }
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
  // Flushing clears the end of the stream for the next turn.
  gst_pad_push_event (feed_, gst_event_new_flush_start ());
  gst_pad_push_event (feed_, gst_event_new_flush_stop (TRUE));
  if (!in_time && !stopping_)
    g_warning ("speech recognition gave up on a turn of %.1f s after %.1f s",
        double (pcm.size ()) / kSampleRate,
        (g_get_monotonic_time () - start_us) / 1e6);
  return in_time && !failed;
}

}  // namespace rts
