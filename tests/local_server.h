/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs the project's local realtime server for a test suite and talks to its
 * control interface (/control/...), which the tests use to inject faults and
 * to see what the elements sent. */
#pragma once

#include <json-glib/json-glib.h>

#include <string>

namespace test {

struct LocalServer {
  std::string base;    /* http://127.0.0.1:PORT */
  std::string api_key; /* the permanent key it accepts */
  GPid pid = 0;

  /* extra: more command-line options, space separated. No speech
   * recognition unless extra asks for it: its model takes seconds to load
   * (tens in a sanitizer build), and tests of anything else hear tones. */
  bool start (const std::string &extra = "");
  void stop ();

  /* POSTs JSON to a control path; true on 200. */
  bool control (const std::string &path, const std::string &json);
  /* GET /control/log, parsed; the caller unrefs. */
  JsonNode *log ();
};

/* Count of log requests with this method and path prefix. */
int count_requests (JsonNode *log, const std::string &path_prefix,
    std::string *query_seen = nullptr);

}  // namespace test
