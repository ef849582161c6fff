/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The broadcast sink's signalling codec, negotiation order and watermarks,
 * alone: what a page may send, what it gets back, when a slow page loses
 * chunks and when it is fed again; then the browser signaller over real
 * WebSockets on loopback, as the sink's server sees it (sessions, offers,
 * answers and candidates, errors, a full server, pages that leave). The
 * browser tests (tests/browser/broadcast.mjs) show the same rules end to
 * end. */
#include "broadcast/signalling.h"
#include "core/worker.h"
#include "signalling/browser_websocket.h"

#include <gst/check/gstcheck.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

using namespace rt::broadcast;

namespace {

ClientMessage parse (const std::string &text)
{
  return parse_client_message (text.data (), text.size ());
}

/* The member of a JSON object, as text ("" when absent). */
std::string member (const std::string &json, const char *name)
{
  JsonParser *p = json_parser_new ();
  std::string out;
  if (json_parser_load_from_data (p, json.c_str (), -1, nullptr)) {
    JsonObject *o = json_node_get_object (json_parser_get_root (p));
    if (json_object_has_member (o, name)) {
      JsonNode *n = json_object_get_member (o, name);
      if (JSON_NODE_HOLDS_VALUE (n) &&
          json_node_get_value_type (n) == G_TYPE_STRING) {
        out = json_node_get_string (n);
      } else {
        gchar *t = json_to_string (n, FALSE);
        out = t;
        g_free (t);
      }
    }
  }
  g_object_unref (p);
  return out;
}

/* The member compared in a named string: fail_unless_equals_string keeps
 * pointers into its arguments past the full expression. */
#define expect_member(json, name, expected)                                    \
  G_STMT_START                                                                 \
  {                                                                            \
    const std::string actual_ = member (json, name);                           \
    fail_unless_equals_string (actual_.c_str (), expected);                    \
  }                                                                            \
  G_STMT_END

}  // namespace

GST_START_TEST (test_answer_and_candidates)
{
  ClientMessage a = parse (
      "{\"type\":\"webrtc-answer\",\"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 0.0.0.0\\r\\n\"}");
  fail_unless (a.kind == ClientMessage::Kind::Answer);
  fail_unless (a.sdp.rfind ("v=0\r\n", 0) == 0);

  /* As browsers send it: candidate, sdpMid, sdpMLineIndex, usernameFragment. */
  ClientMessage c = parse (
      "{\"type\":\"webrtc-ice\",\"candidate\":{\"candidate\":"
      "\"candidate:1 1 udp 2122194687 10.0.0.1 40000 typ host\",\"sdpMid\":\"0\","
      "\"sdpMLineIndex\":0,\"usernameFragment\":\"abcd\"}}");
  fail_unless (c.kind == ClientMessage::Kind::Ice);
  fail_unless_equals_int (c.candidate.mline_index, 0);
  fail_unless (c.candidate.mid == "0");

  /* Only a mid: still a candidate (the server has one bundled m-line). */
  ClientMessage mid_only = parse (
      "{\"type\":\"webrtc-ice\",\"candidate\":{\"candidate\":"
      "\"candidate:1 1 udp 1 10.0.0.1 1 typ host\",\"sdpMid\":\"audio0\"}}");
  fail_unless (mid_only.kind == ClientMessage::Kind::Ice);
  fail_unless_equals_int (mid_only.candidate.mline_index, -1);

  /* The end of gathering, both ways browsers say it. */
  fail_unless (parse ("{\"type\":\"webrtc-ice\",\"candidate\":null}").kind ==
      ClientMessage::Kind::EndOfCandidates);
  fail_unless (
      parse ("{\"type\":\"webrtc-ice\",\"candidate\":{\"candidate\":\"\","
             "\"sdpMLineIndex\":0}}")
          .kind == ClientMessage::Kind::EndOfCandidates);
}
GST_END_TEST;

GST_START_TEST (test_malformed_messages)
{
  const char *bad[] = {
    "",
    "not json",
    "[]",
    "42",
    "{}",
    "{\"type\":7}",
    "{\"type\":\"bogus\"}",
    "{\"type\":\"webrtc-answer\"}",
    "{\"type\":\"webrtc-answer\",\"sdp\":5}",
    "{\"type\":\"webrtc-answer\",\"sdp\":\"no sdp here\"}",
    "{\"type\":\"webrtc-ice\",\"candidate\":7}",
    "{\"type\":\"webrtc-ice\",\"candidate\":{\"sdpMLineIndex\":0}}",
    "{\"type\":\"webrtc-ice\",\"candidate\":{\"candidate\":\"candidate:x\"}}",
    "{\"type\":\"webrtc-ice\",\"candidate\":{\"candidate\":\"candidate:x\",\"sdpMLineIndex\":-1}}",
    "{\"type\":\"webrtc-ice\",\"candidate\":{\"candidate\":\"candidate:x\",\"sdpMLineIndex\":1e9}}",
    "{\"type\":\"webrtc-ice\",\"candidate\":{\"candidate\":\"candidate:x\",\"sdpMLineIndex\":65}}",
    "{\"type\":\"webrtc-answer\",\"sdp\":\"v=0\\r\\n\"",
  };
  for (const char *b : bad) {
    ClientMessage m = parse (b);
    fail_unless (m.kind == ClientMessage::Kind::Invalid, "accepted: %s", b);
    fail_if (m.error.empty (), "no reason for: %s", b);
  }
  std::string huge = "{\"type\":\"webrtc-answer\",\"sdp\":\"v=0\\r\\n" +
      std::string (300 * 1024, 'a') + "\"}";
  fail_unless (parse (huge).kind == ClientMessage::Kind::Invalid);
  fail_unless (
      parse_client_message (nullptr, 0).kind == ClientMessage::Kind::Invalid);
}
GST_END_TEST;

GST_START_TEST (test_negotiation_order)
{
  Negotiation n;
  fail_unless_equals_string (n.accept (ClientMessage::Kind::Answer),
      "answer-before-offer");
  fail_unless_equals_string (n.accept (ClientMessage::Kind::Ice),
      "candidate-before-offer");
  n.offer_sent ();
  fail_unless (n.accept (ClientMessage::Kind::Ice) == nullptr,
      "early candidates are fine");
  fail_unless (n.accept (ClientMessage::Kind::Answer) == nullptr);
  fail_unless (n.state () == Negotiation::State::Answered);
  fail_unless_equals_string (n.accept (ClientMessage::Kind::Answer),
      "answer-repeated");
  fail_unless (n.accept (ClientMessage::Kind::EndOfCandidates) == nullptr);
  fail_unless_equals_string (n.accept (ClientMessage::Kind::Invalid),
      "invalid-message");
}
GST_END_TEST;

GST_START_TEST (test_server_messages)
{
  std::vector<IceServer> servers { { "stun:stun.example.org:3478", "", "" },
    { "turn:turn.example.org:3478", "user", "pa:ss" } };
  std::string offer = build_offer ("v=0\r\n", "abc", servers);
  expect_member (offer, "type", "webrtc-offer");
  expect_member (offer, "clientId", "abc");
  expect_member (offer, "sdp", "v=0\r\n");
  fail_unless (member (offer, "iceServers").find ("\"credential\":\"pa:ss\"") !=
      std::string::npos);

  std::string ice = build_ice (
      { "candidate:1 1 udp 1 10.0.0.1 9 typ host", 0, "" });
  expect_member (ice, "type", "webrtc-ice");
  /* What the server sends, a page could send back: the codec reads it. */
  ClientMessage round = parse (ice);
  fail_unless (round.kind == ClientMessage::Kind::Ice);
  fail_unless_equals_int (round.candidate.mline_index, 0);

  std::string err = build_error ("invalid-message", "not JSON");
  expect_member (err, "type", "error");
  expect_member (err, "code", "invalid-message");

  std::string start = build_utterance_start (7, "opus", 48000, 2, 1234);
  expect_member (start, "type", "utterance-start");
  expect_member (start, "id", "7");
  expect_member (start, "channels", "2");
  expect_member (build_utterance_end (7), "type", "utterance-end");
  expect_member (build_utterance_abort (7), "type", "utterance-abort");
  expect_member (build_discontinuity (7, 12), "dropped", "12");
}
GST_END_TEST;

GST_START_TEST (test_ice_server_uris)
{
  auto stun = ice_server_from_uri ("stun://stun.example.org:3478");
  fail_unless (stun.has_value ());
  fail_unless_equals_string (stun->url.c_str (), "stun:stun.example.org:3478");
  fail_unless (stun->username.empty ());

  /* Escaped user info, as webrtcbin takes it; '@' in a password. */
  auto turn = ice_server_from_uri (
      "turn://us%40er:p%40ss@turn.example.org:3478");
  fail_unless (turn.has_value ());
  fail_unless_equals_string (turn->url.c_str (), "turn:turn.example.org:3478");
  fail_unless_equals_string (turn->username.c_str (), "us@er");
  fail_unless_equals_string (turn->credential.c_str (), "p@ss");
  auto turns = ice_server_from_uri ("turns://u:p@turn.example.org:5349");
  fail_unless (turns.has_value ());
  fail_unless_equals_string (turns->url.c_str (),
      "turns:turn.example.org:5349");

  fail_if (ice_server_from_uri ("").has_value ());
  fail_if (ice_server_from_uri ("http://example.org").has_value ());
  fail_if (ice_server_from_uri ("turn://turn.example.org:3478").has_value (),
      "TURN without credentials");
  fail_if (ice_server_from_uri ("stun://").has_value ());
  fail_if (ice_server_from_uri ("stun://host/path").has_value ());
}
GST_END_TEST;

GST_START_TEST (test_watermarks)
{
  Watermarks w (10000, 2000);
  /* Below the high mark: everything goes. */
  fail_unless (w.admit (0, 1000));
  fail_unless (w.admit (8000, 1000));
  fail_unless_equals_int (w.take_dropped_run (), 0);
  /* A chunk that would pass the high mark is dropped, and so is every
   * chunk after it until the queue has drained to the low mark. */
  fail_if (w.admit (9500, 1000));
  fail_unless (w.throttled ());
  fail_if (w.admit (5000, 1000), "between the marks: still dropping");
  fail_if (w.admit (2500, 1000));
  fail_unless (w.admit (2000, 1000), "at the low mark: fed again");
  fail_if (w.throttled ());
  fail_unless_equals_int (w.take_dropped_run (), 3);
  fail_unless_equals_int (w.take_dropped_run (), 0);
  fail_unless_equals_int (w.dropped (), 3);
  /* Drops for other reasons count alike. */
  w.drop ();
  fail_unless_equals_int (w.dropped (), 4);
  fail_unless_equals_int (w.take_dropped_run (), 1);
}
GST_END_TEST;

GST_START_TEST (test_receipts)
{
  auto r = [] (const std::string &t) {
    return parse_receipt (t.data (), t.size ());
  };
  fail_unless (r ("{\"type\":\"received\",\"bytes\":12345}") ==
      std::optional<std::uint64_t> (12345));
  fail_unless (r ("{\"type\":\"received\",\"bytes\":0}") ==
      std::optional<std::uint64_t> (0));
  fail_if (r ("{\"type\":\"received\",\"bytes\":-1}").has_value ());
  fail_if (r ("{\"type\":\"received\",\"bytes\":\"12\"}").has_value ());
  fail_if (r ("{\"type\":\"received\"}").has_value ());
  fail_if (r ("{\"type\":\"other\",\"bytes\":1}").has_value ());
  fail_if (r ("not json").has_value ());
  fail_if (r ("").has_value ());
  fail_if (r (std::string (2000, ' ')).has_value ());
}
GST_END_TEST;

GST_START_TEST (test_client_ids)
{
  fail_unless (valid_client_id ("a1b2c3d4e5f6"));
  fail_unless (valid_client_id ("listener-1_A"));
  fail_if (valid_client_id (""));
  fail_if (valid_client_id (std::string (33, 'a')));
  fail_if (valid_client_id ("a b"));
  fail_if (valid_client_id ("a/b"));
  fail_if (valid_client_id ("%00"));
}
GST_END_TEST;

/* ---- the browser signaller, over loopback ---- */

namespace {

/* What the signaller told its owner, and what the pages got: written on the
 * worker, waited for (bounded) on the test's thread. */
struct Log {
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> requested, ended, answers, candidates;
  rt::FaultKind ended_kind = rt::FaultKind::Pipeline;
  bool offered = false; /* a session requested with an offer */

  template <typename Pred> bool wait (Pred pred)
  {
    std::unique_lock<std::mutex> l (m);
    return cv.wait_for (l, std::chrono::seconds (10), [&] { return pred (); });
  }
  void note (std::vector<std::string> &list, const std::string &what)
  {
    std::lock_guard<std::mutex> l (m);
    list.push_back (what);
    cv.notify_all ();
  }
};

/* A page: a WebSocket client on the worker. */
struct Page {
  Log *log = nullptr;
  SoupSession *session = nullptr;
  SoupWebsocketConnection *ws = nullptr;
  bool failed = false, closed = false; /* under log->m */
  std::vector<std::string> got;        /* under log->m */

  static void message_cb (SoupWebsocketConnection *, gint, GBytes *bytes,
      gpointer data)
  {
    auto *p = static_cast<Page *> (data);
    gsize size = 0;
    const char *text = static_cast<const char *> (
        g_bytes_get_data (bytes, &size));
    p->log->note (p->got, std::string (text, size));
  }
  static void closed_cb (SoupWebsocketConnection *, gpointer data)
  {
    auto *p = static_cast<Page *> (data);
    std::lock_guard<std::mutex> l (p->log->m);
    p->closed = true;
    p->log->cv.notify_all ();
  }
  static void connected_cb (GObject *source, GAsyncResult *result,
      gpointer data)
  {
    auto *p = static_cast<Page *> (data);
    SoupWebsocketConnection *ws = soup_session_websocket_connect_finish (
        SOUP_SESSION (source), result, nullptr);
    std::lock_guard<std::mutex> l (p->log->m);
    if (ws) {
      p->ws = ws;
      g_signal_connect (ws, "message", G_CALLBACK (message_cb), p);
      g_signal_connect (ws, "closed", G_CALLBACK (closed_cb), p);
    } else {
      p->failed = true;
    }
    p->log->cv.notify_all ();
  }

  /* On the worker. */
  void open (int port, const std::string &query)
  {
    session = soup_session_new ();
    std::string url = "ws://127.0.0.1:" + std::to_string (port) + "/ws" + query;
    SoupMessage *msg = soup_message_new ("GET", url.c_str ());
    soup_session_websocket_connect_async (session, msg, nullptr, nullptr,
        G_PRIORITY_DEFAULT, nullptr, connected_cb, this);
    g_object_unref (msg);
  }
  void send (const std::string &text)
  {
    soup_websocket_connection_send_text (ws, text.c_str ());
  }
  void close ()
  {
    if (ws) {
      g_signal_handlers_disconnect_matched (ws, G_SIGNAL_MATCH_DATA, 0, 0,
          nullptr, nullptr, this);
      if (soup_websocket_connection_get_state (ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_NORMAL,
            nullptr);
      g_object_unref (ws);
      ws = nullptr;
    }
    if (session)
      g_object_unref (session);
    session = nullptr;
  }
  /* The first message whose member `name` is `value` ("" when none);
   * find() with log->m held (in a wait), seen() without. */
  std::string find (const char *value, const char *name = "type") const
  {
    for (const auto &m : got)
      if (member (m, name) == value)
        return m;
    return "";
  }
  std::string seen (const char *value, const char *name = "type") const
  {
    std::lock_guard<std::mutex> l (log->m);
    return find (value, name);
  }
};

const char *const kSdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

}  // namespace

GST_START_TEST (test_browser_signaller)
{
  Log log;
  rt::Worker worker ("signaller-test");
  rt::BrowserSignallerConfig cfg;
  cfg.port = 0;
  cfg.max_sessions = 1;
  cfg.stun_server = "stun://stun.example.org:3478";
  rt::BrowserSignaller sig (cfg);
  rt::Signaller::Handlers h;
  h.session_requested =
      [&] (const std::string &id,
          const std::optional<rt::SessionDescription> &offer) {
        if (offer) {
          std::lock_guard<std::mutex> l (log.m);
          log.offered = true;
        }
        log.note (log.requested, id);
      };
  h.remote_description = [&] (const std::string &id,
                             const rt::SessionDescription &d,
                             const std::string &) {
    log.note (log.answers,
        id + (d.type == GST_WEBRTC_SDP_TYPE_ANSWER ? " answer " : " offer ") +
            d.sdp);
  };
  h.remote_candidate = [&] (const std::string &id, unsigned mline,
                           const std::string &c) {
    log.note (log.candidates, id + " " + std::to_string (mline) + " " + c);
  };
  h.session_ended = [&] (const std::string &id, const rt::Fault &fault) {
    {
      std::lock_guard<std::mutex> l (log.m);
      log.ended_kind = fault.kind;
    }
    log.note (log.ended, id);
  };
  sig.set_handlers (std::move (h));
  fail_unless (sig.capabilities ().trickle);
  fail_if (sig.capabilities ().remote_offers);
  std::string error;
  bool listening = false;
  worker.run_sync ([&] {
    listening = sig.listen (&error);
    sig.start ();
  });
  fail_unless (listening, "%s", error.c_str ());
  fail_unless (sig.port () > 0);

  /* A page asks for its id back: it gets a session under that id. */
  Page a, b, c;
  a.log = b.log = c.log = &log;
  worker.run_sync ([&] { a.open (sig.port (), "?clientId=page-a"); });
  fail_unless (log.wait ([&] { return !log.requested.empty (); }));
  fail_unless_equals_string (log.requested[0].c_str (), "page-a");
  fail_if (log.offered);

  /* The sink offers and trickles; the page hears both. */
  worker.run_sync ([&] {
    sig.send_description ("page-a", { GST_WEBRTC_SDP_TYPE_OFFER, kSdp });
    sig.send_candidate ("page-a", 0,
        "candidate:1 1 udp 1 127.0.0.1 9 typ host");
  });
  fail_unless (log.wait ([&] { return a.got.size () >= 2; }));
  std::string offer = a.seen ("webrtc-offer");
  expect_member (offer, "clientId", "page-a");
  expect_member (offer, "sdp", kSdp);
  fail_unless (
      member (offer, "iceServers").find ("stun:stun.example.org:3478") !=
      std::string::npos);
  std::string ice = a.seen ("webrtc-ice");
  fail_unless (
      member (ice, "candidate").find ("typ host") != std::string::npos);

  /* Nonsense gets an error back and is counted; the answer and the page's
   * candidate reach the owner. */
  worker.run_sync ([&] {
    a.send ("not json");
    a.send (std::string ("{\"type\":\"webrtc-answer\",\"sdp\":\"") +
        "v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\n\"}");
    a.send (
        "{\"type\":\"webrtc-ice\",\"candidate\":{\"candidate\":"
        "\"candidate:2 1 udp 2 127.0.0.1 5000 typ host\",\"sdpMLineIndex\":0,\"sdpMid\":\"0\"}}");
  });
  fail_unless (log.wait (
      [&] { return !log.candidates.empty () && !a.find ("error").empty (); }));
  expect_member (a.seen ("error"), "code", "invalid-message");
  fail_unless_equals_int ((int) sig.counters ()["signalling-errors"], 1);
  fail_unless_equals_int ((int) log.answers.size (), 1);
  fail_unless (log.answers[0].rfind ("page-a answer v=0", 0) == 0);
  fail_unless_equals_string (log.candidates[0].c_str (),
      "page-a 0 candidate:2 1 udp 2 127.0.0.1 5000 typ host");

  /* An error the owner reports reaches the page and is counted. */
  worker.run_sync (
      [&] { sig.report ("page-a", "invalid-sdp", "the answer was refused"); });
  fail_unless (
      log.wait ([&] { return !a.find ("invalid-sdp", "code").empty (); }));
  fail_unless_equals_int ((int) sig.counters ()["signalling-errors"], 2);

  /* Over max_sessions a page is told so and let go, with no session. */
  worker.run_sync ([&] { b.open (sig.port (), ""); });
  fail_unless (log.wait ([&] { return b.failed || b.closed; }));
  expect_member (b.seen ("error"), "code", "server-full");
  fail_unless_equals_int ((int) sig.counters ()["refused"], 1);
  fail_unless_equals_int ((int) log.requested.size (), 1);

  /* A page that leaves ends its session. */
  worker.run_sync ([&] { a.close (); });
  fail_unless (log.wait ([&] { return !log.ended.empty (); }));
  fail_unless_equals_string (log.ended[0].c_str (), "page-a");
  fail_unless (log.ended_kind == rt::FaultKind::ChannelClosed);

  /* Its slot is free again; a session the owner ends closes the page's
   * socket, and no session_ended follows. */
  worker.run_sync ([&] { c.open (sig.port (), "?clientId=bad id"); });
  fail_unless (log.wait ([&] { return log.requested.size () == 2; }));
  std::string id = log.requested[1];
  fail_unless_equals_int ((int) id.size (), 32);
  worker.run_sync ([&] { sig.end_session (id); });
  fail_unless (log.wait ([&] { return c.closed; }));
  fail_unless_equals_int ((int) log.ended.size (), 1);

  worker.run_sync ([&] {
    b.close ();
    c.close ();
    sig.stop ([] {});
  });
}
GST_END_TEST;

static Suite *broadcast_suite ()
{
  Suite *s = suite_create ("broadcast");
  TCase *tc = tcase_create ("signalling");
  tcase_add_test (tc, test_answer_and_candidates);
  tcase_add_test (tc, test_malformed_messages);
  tcase_add_test (tc, test_negotiation_order);
  tcase_add_test (tc, test_server_messages);
  tcase_add_test (tc, test_ice_server_uris);
  tcase_add_test (tc, test_watermarks);
  tcase_add_test (tc, test_receipts);
  tcase_add_test (tc, test_client_ids);
  suite_add_tcase (s, tc);
  TCase *live = tcase_create ("browser-signaller");
  tcase_add_test (live, test_browser_signaller);
  suite_add_tcase (s, live);
  return s;
}

GST_CHECK_MAIN (broadcast);
