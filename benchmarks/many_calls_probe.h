/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What many-calls-bench measures of one call and of the process: the
 * agent's audio as it leaves each call's openairealtimesrc (late buffers,
 * holes in the timestamps), CPU of a process and of its threads by name,
 * and resident memory. */
#pragma once

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <dirent.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

namespace many {

/* The agent's audio at one call's appsink. The src is a live source: each
 * 10 ms buffer is stamped with the running time it starts at and is due
 * downstream by then plus the pipeline's latency. One that comes later than
 * that by more than late_ns would have been dropped or heard late by a
 * synchronised sink; a timestamp that does not follow on from the one before
 * is a hole in the audio. Updated on the streaming thread, read anywhere. */
struct AudioProbe {
  std::atomic<guint64> buffers { 0 };
  std::atomic<guint64> late { 0 };
  std::atomic<guint64> holes { 0 };      /* timestamp jumps and DISCONTs */
  std::atomic<guint64> hole_ns { 0 };    /* audio missing in those jumps */
  std::atomic<gint64> max_late_ns { 0 }; /* worst lateness beyond latency */
  std::atomic<GstClockTime> latency_ns { GST_CLOCK_TIME_NONE };
  GstClockTime late_ns = 20 * GST_MSECOND;
  GstClockTime next_pts = GST_CLOCK_TIME_NONE; /* streaming thread only */

  void reset_max () { max_late_ns.store (0); }

  void on_buffer (GstElement *sink, GstBuffer *buf)
  {
    buffers++;
    GstClockTime pts = GST_BUFFER_PTS (buf);
    GstClockTime dur = GST_BUFFER_DURATION (buf);
    if (GST_CLOCK_TIME_IS_VALID (next_pts) && GST_CLOCK_TIME_IS_VALID (pts)) {
      GstClockTimeDiff jump = GST_CLOCK_DIFF (next_pts, pts);
      /* Half a millisecond of slack: rounding of sample counts to ns. */
      if (jump > GST_USECOND * 500 || jump < -GST_USECOND * 500 ||
          GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT)) {
        holes++;
        if (jump > 0)
          hole_ns += (guint64) jump;
      }
    }
    if (GST_CLOCK_TIME_IS_VALID (pts))
      next_pts = pts + (GST_CLOCK_TIME_IS_VALID (dur) ? dur : 10 * GST_MSECOND);
    GstClockTime latency = latency_ns.load ();
    GstClock *clock = gst_element_get_clock (sink);
    if (!clock || !GST_CLOCK_TIME_IS_VALID (pts) ||
        !GST_CLOCK_TIME_IS_VALID (latency)) {
      if (clock)
        gst_object_unref (clock);
      return;
    }
    GstClockTime now = gst_clock_get_time (clock) -
        gst_element_get_base_time (sink);
    gst_object_unref (clock);
    GstClockTimeDiff beyond = GST_CLOCK_DIFF (pts + latency, now);
    gint64 seen = max_late_ns.load ();
    while (beyond > seen && !max_late_ns.compare_exchange_weak (seen, beyond)) {
    }
    if (beyond > (GstClockTimeDiff) late_ns)
      late++;
  }

  static GstFlowReturn new_sample (GstAppSink *sink, gpointer data)
  {
    GstSample *sample = gst_app_sink_pull_sample (sink);
    if (!sample)
      return GST_FLOW_EOS;
    if (GstBuffer *buf = gst_sample_get_buffer (sample))
      static_cast<AudioProbe *> (data)->on_buffer (GST_ELEMENT (sink), buf);
    gst_sample_unref (sample);
    return GST_FLOW_OK;
  }
};

/* utime + stime of a /proc .../stat line, in seconds; the name (comm) too. */
inline bool read_stat (const std::string &path, double *cpu_s,
    std::string *name = nullptr)
{
  FILE *f = fopen (path.c_str (), "r");
  if (!f)
    return false;
  char line[1024];
  bool ok = fgets (line, sizeof line, f) != nullptr;
  fclose (f);
  if (!ok)
    return false;
  /* The name may hold spaces and parentheses: it ends at the last ')'. */
  char *open = strchr (line, '(');
  char *close = strrchr (line, ')');
  if (!open || !close)
    return false;
  if (name)
    name->assign (open + 1, close - open - 1);
  unsigned long utime = 0, stime = 0;
  /* Fields 3..13 after the name, then utime (14) and stime (15). */
  if (sscanf (close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
          &utime, &stime) != 2)
    return false;
  *cpu_s = double (utime + stime) / sysconf (_SC_CLK_TCK);
  return true;
}

inline double process_cpu (pid_t pid)
{
  double s = 0;
  read_stat ("/proc/" + std::to_string (pid) + "/stat", &s);
  return s;
}

/* VmRSS of /proc/PID/status, in KiB. */
inline long rss_kib (pid_t pid)
{
  FILE *f = fopen (("/proc/" + std::to_string (pid) + "/status").c_str (), "r");
  if (!f)
    return -1;
  char line[256];
  long kib = -1;
  while (fgets (line, sizeof line, f))
    if (sscanf (line, "VmRSS: %ld kB", &kib) == 1)
      break;
  fclose (f);
  return kib;
}

/* The whole machine's busy CPU time so far (all cores, /proc/stat), in
 * seconds: what the other processes sharing it cost is this less ours. */
inline double machine_busy ()
{
  FILE *f = fopen ("/proc/stat", "r");
  if (!f)
    return 0;
  unsigned long long v[8] = {};
  int n = fscanf (f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
      &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
  fclose (f);
  if (n != 8)
    return 0;
  /* user nice system idle iowait irq softirq steal: all but idle, iowait. */
  return double (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
      sysconf (_SC_CLK_TCK);
}

/* Thread names with their numbers taken out ("nicesrc12:src" and
 * "nicesrc3:src" are one kind of thread). The kernel keeps 15 characters
 * of a name, so a numbered name that long lost a different tail for each
 * count of digits ("audiotestsrc1:s", "audiotestsrc12:"): those are cut
 * to 12 characters to fall into one kind. */
inline std::string thread_kind (const std::string &name)
{
  std::string out;
  for (char c : name)
    if (!isdigit ((unsigned char) c))
      out += c;
  if (name.size () >= 15 && out.size () < name.size () && out.size () > 12)
    out.resize (12);
  return out.empty () ? "?" : out;
}

struct ThreadKind {
  unsigned threads = 0;
  double cpu_s = 0;
};

/* A process's threads now, by kind: how many, and their CPU so far per
 * thread id (a thread that ends takes its CPU with it, hence per id). */
inline std::map<pid_t, std::pair<std::string, double>> threads_now (pid_t pid)
{
  std::map<pid_t, std::pair<std::string, double>> out;
  const std::string dir = "/proc/" + std::to_string (pid) + "/task/";
  DIR *d = opendir (dir.c_str ());
  if (!d)
    return out;
  while (struct dirent *e = readdir (d)) {
    if (e->d_name[0] == '.')
      continue;
    std::string name;
    double cpu = 0;
    if (read_stat (dir + e->d_name + "/stat", &cpu, &name))
      out[(pid_t) atoi (e->d_name)] = { thread_kind (name), cpu };
  }
  closedir (d);
  return out;
}

/* CPU per kind of thread between two snapshots; threads counted at the end. */
inline std::map<std::string, ThreadKind> thread_cpu (
    const std::map<pid_t, std::pair<std::string, double>> &before,
    const std::map<pid_t, std::pair<std::string, double>> &after)
{
  std::map<std::string, ThreadKind> out;
  for (const auto &t : after) {
    auto it = before.find (t.first);
    double was = it == before.end () ? 0 : it->second.second;
    ThreadKind &k = out[t.second.first];
    k.threads++;
    k.cpu_s += t.second.second - was;
  }
  return out;
}

}  // namespace many
