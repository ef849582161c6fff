/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sipphone's calls: the action signals an application calls, the signals
 * and messages it hears, and the far end's audio and digits on the src
 * pad. */
#include "sipphone_private.h"

#include "core/redact.h"
#include "media/live_audio_src.h"

GST_DEBUG_CATEGORY_EXTERN (sipphone_debug);
#define GST_CAT_DEFAULT sipphone_debug

namespace sipphone {

namespace {

enum { SIGNAL_INCOMING_CALL, SIGNAL_DTMF_RECEIVED, N_SIGNALS };
guint signals[N_SIGNALS];

GstSipPhoneState element_state (rt::PhoneState s)
{
  switch (s) {
    case rt::PhoneState::Idle: return GST_SIP_PHONE_IDLE;
    case rt::PhoneState::Registering: return GST_SIP_PHONE_REGISTERING;
    case rt::PhoneState::Registered: return GST_SIP_PHONE_REGISTERED;
    case rt::PhoneState::Calling: return GST_SIP_PHONE_CALLING;
    case rt::PhoneState::Ringing: return GST_SIP_PHONE_RINGING;
    case rt::PhoneState::Connected: return GST_SIP_PHONE_CONNECTED;
    case rt::PhoneState::Held: return GST_SIP_PHONE_HELD;
    case rt::PhoneState::Ended: return GST_SIP_PHONE_ENDED;
    case rt::PhoneState::Failed: return GST_SIP_PHONE_FAILED;
  }
  return GST_SIP_PHONE_IDLE;
}

/* Runs fn with the phone on its worker and returns what it says; false
 * without a line. From the worker itself (a handler of one of the
 * element's signals) it runs at once. */
gboolean with_phone (GstSipPhone *self,
    const std::function<bool (rt::Phone &)> &fn)
{
  std::shared_ptr<Line> line = line_of (self);
  if (!line)
    return FALSE;
  bool result = false;
  auto run = [&] {
    if (line->phone)
      result = fn (*line->phone);
  };
  if (!line->worker.is_current ()) {
    line->worker.run_sync (run);
    return result;
  }
  run ();
  /* On the line's own thread this reference may be the last one (the
   * handler stopped the pipeline meanwhile): it is let go elsewhere, since
   * a thread cannot join itself. */
  release_elsewhere (self, std::move (line));
  return result;
}

gboolean call_action (GstSipPhone *self, const gchar *uri)
{
  if (!uri || !g_str_has_prefix (uri, "sip:") ||
      strpbrk (uri, "\r\n<>\" ") != nullptr) {
    GST_WARNING_OBJECT (self, "call: not a SIP URI: %s", uri ? uri : "(null)");
    return FALSE;
  }
  std::string target = uri;
  return with_phone (self, [target] (rt::Phone &p) { return p.call (target); });
}

gboolean answer_action (GstSipPhone *self)
{
  return with_phone (self, [] (rt::Phone &p) { return p.answer (); });
}

gboolean reject_action (GstSipPhone *self, gint status)
{
  if (status < 300 || status > 699) {
    GST_WARNING_OBJECT (self,
        "reject: %d is not a final failure status "
        "(300-699)",
        status);
    return FALSE;
  }
  return with_phone (self,
      [status] (rt::Phone &p) { return p.reject (status); });
}

gboolean hangup_action (GstSipPhone *self)
{
  return with_phone (self, [] (rt::Phone &p) { return p.hangup (); });
}

gboolean hold_action (GstSipPhone *self)
{
  return with_phone (self, [] (rt::Phone &p) { return p.hold (true); });
}

gboolean resume_action (GstSipPhone *self)
{
  return with_phone (self, [] (rt::Phone &p) { return p.hold (false); });
}

gboolean send_dtmf_action (GstSipPhone *self, const gchar *digits)
{
  std::string d = digits ? digits : "";
  return with_phone (self, [d] (rt::Phone &p) { return p.send_dtmf (d); });
}

gboolean transfer_action (GstSipPhone *self, const gchar *uri)
{
  if (!uri || !g_str_has_prefix (uri, "sip:") ||
      strpbrk (uri, "\r\n<>\" ") != nullptr) {
    GST_WARNING_OBJECT (self, "transfer: not a SIP URI: %s",
        uri ? uri : "(null)");
    return FALSE;
  }
  std::string target = uri;
  return with_phone (self,
      [target] (rt::Phone &p) { return p.transfer (target); });
}

void on_registration (GstSipPhone *self, Line *line,
    rt::sip::Registration::State state, int status, const std::string &reason)
{
  using S = rt::sip::Registration::State;
  /* A call's state stays what the line reads while the call lasts. */
  const bool in_call = line->phone && line->phone->in_call ();
  switch (state) {
    case S::Registering:
      if (status == 0 && !reason.empty ())
        GST_ELEMENT_WARNING (self, RESOURCE, READ,
            ("The line to the SIP server was lost; registering again"),
            ("%s", rt::redact (reason).c_str ()));
      if (!in_call)
        set_state (self, GST_SIP_PHONE_REGISTERING, status, reason);
      break;
    case S::Registered:
      if (!in_call)
        set_state (self, GST_SIP_PHONE_REGISTERED, status, reason);
      dial_if_due (self, line);
      break;
    case S::Failed:
      set_state (self, GST_SIP_PHONE_FAILED, status, reason);
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_AUTHORIZED,
          ("The SIP server refused the registration: %d %s", status,
              rt::redact (reason).c_str ()),
          (nullptr));
      break;
    case S::Idle:
    case S::Unregistering: set_state (self, GST_SIP_PHONE_IDLE, status, reason);
  }
}

/* The standard dtmf-event (as rtpdtmfdepay posts it), downstream in order
 * with the audio: method 1 for RFC 4733, 2 for SIP INFO. */
void send_dtmf_event (GstSipPhone *self, char digit, const char *method)
{
  /* The source sends its events with its buffers, only while PLAYING:
   * held back until then, a flood of digits would pile up. */
  if (!self->playing->load ())
    return;
  static const char digits[] = "0123456789*#ABCD";
  const char *at = strchr (digits, digit);
  if (!at || !digit)
    return;
  GstStructure *s = gst_structure_new ("dtmf-event", "type", G_TYPE_INT, 1,
      "number", G_TYPE_INT, (gint) (at - digits), "volume", G_TYPE_INT, 10,
      "method", G_TYPE_INT, g_str_equal (method, "rtp") ? 1 : 2, nullptr);
  gst_element_send_event (self->from_call,
      gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM, s));
}

}  // namespace

void send_call_event (GstSipPhone *self, rt::PhoneState state, int status)
{
  if (state == rt::PhoneState::Idle || state == rt::PhoneState::Registering ||
      state == rt::PhoneState::Registered)
    return;
  if (!self->playing->load ()) {
    /* The source sends its events only while PLAYING; the end of a call
     * must still reach downstream (the next caller's conversation). */
    if (state == rt::PhoneState::Ended)
      self->ended_unsaid->store (true);
    return;
  }
  GstStructure *s = gst_structure_new ("sipphone-call", "state", G_TYPE_STRING,
      state_nick (element_state (state)), "status", G_TYPE_INT, status,
      nullptr);
  gst_element_send_event (self->from_call,
      gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM, s));
}

rt::Phone::Events phone_events (GstSipPhone *self, Line *l)
{
  rt::Phone::Events e;
  e.registration = [self, l] (rt::sip::Registration::State st, int status,
                       const std::string &reason) {
    if (!l->quiet.load ())
      on_registration (self, l, st, status, reason);
  };
  e.state = [self, l] (rt::PhoneState st, int status,
                const std::string &reason) {
    if (l->quiet.load ())
      return;
    const bool changed = self->state->load () != element_state (st);
    set_state (self, element_state (st), status, reason);
    if (changed)
      send_call_event (self, st, status);
  };
  e.incoming_call = [self, l] (const std::string &from,
                        const std::string &display,
                        const std::string &call_id) {
    if (l->quiet.load ())
      return;
    GST_INFO_OBJECT (self, "incoming call from %s", from.c_str ());
    g_signal_emit (self, signals[SIGNAL_INCOMING_CALL], 0, from.c_str (),
        display.c_str (), call_id.c_str ());
  };
  e.dtmf = [self, l] (char digit, const char *method) {
    if (l->quiet.load ())
      return;
    const char text[2] = { digit, 0 };
    GST_INFO_OBJECT (self, "digit %s by %s", text, method);
    g_signal_emit (self, signals[SIGNAL_DTMF_RECEIVED], 0, text, method);
    send_dtmf_event (self, digit, method);
  };
  e.transfer = [self, l] (int status, bool done) {
    if (l->quiet.load ())
      return;
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self),
            gst_structure_new ("sipphone-transfer", "status", G_TYPE_INT,
                status, "done", G_TYPE_BOOLEAN, done, nullptr)));
  };
  e.warning = [self, l] (const std::string &message) {
    if (!l->quiet.load ())
      GST_ELEMENT_WARNING (self, STREAM, FAILED, ("%s", message.c_str ()),
          (nullptr));
  };
  e.audio = [self] (GstBuffer *buffer) {
    gst_live_audio_src_push (GST_LIVE_AUDIO_SRC (self->from_call), buffer);
  };
  return e;
}

void dial_if_due (GstSipPhone *self, Line *line)
{
  GST_OBJECT_LOCK (self);
  const std::string dial = self->settings->dial;
  GST_OBJECT_UNLOCK (self);
  if (dial.empty () || line->dialled || !self->playing->load () ||
      !line->phone || !line->phone->registered ())
    return;
  line->dialled = true;
  if (!line->phone->call (dial))
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("Could not call %s", dial.c_str ()), (nullptr));
}

void install_signals (GType type)
{
  /**
   * GstSipPhone::incoming-call:
   * @from: the caller's SIP URI
   * @display: the caller's display name (may be empty)
   * @call_id: the call's Call-ID
   *
   * A call arrives and rings (call-state ringing), its offer in hand:
   * answer it with the answer action (from this handler too), turn it away
   * with reject, or let auto-answer take it.
   */
  signals[SIGNAL_INCOMING_CALL] = g_signal_new ("incoming-call", type,
      G_SIGNAL_RUN_LAST, 0, nullptr, nullptr, nullptr, G_TYPE_NONE, 3,
      G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
  /**
   * GstSipPhone::dtmf-received:
   * @digit: "0"-"9", "*", "#", "A"-"D"
   * @method: "rtp" (RFC 4733 telephone-event) or "info" (SIP INFO)
   *
   * The far end pressed a key. The same digit also goes downstream from
   * the src pad as a dtmf-event custom event.
   */
  signals[SIGNAL_DTMF_RECEIVED] = g_signal_new ("dtmf-received", type,
      G_SIGNAL_RUN_LAST, 0, nullptr, nullptr, nullptr, G_TYPE_NONE, 2,
      G_TYPE_STRING, G_TYPE_STRING);

  const auto action = (GSignalFlags) (G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION);
  /* call (uri): calls a SIP URI; FALSE when not a SIP URI, no line, or a
   * call is already under way. */
  g_signal_new_class_handler ("call", type, action, G_CALLBACK (call_action),
      nullptr, nullptr, nullptr, G_TYPE_BOOLEAN, 1, G_TYPE_STRING);
  /* answer (): takes the ringing call. */
  g_signal_new_class_handler ("answer", type, action,
      G_CALLBACK (answer_action), nullptr, nullptr, nullptr, G_TYPE_BOOLEAN, 0);
  /* reject (status): turns the ringing call away (486 Busy Here, 603
   * Decline...). */
  g_signal_new_class_handler ("reject", type, action,
      G_CALLBACK (reject_action), nullptr, nullptr, nullptr, G_TYPE_BOOLEAN, 1,
      G_TYPE_INT);
  /* hangup (): ends the call however far it got (CANCEL, BYE, 603). */
  g_signal_new_class_handler ("hangup", type, action,
      G_CALLBACK (hangup_action), nullptr, nullptr, nullptr, G_TYPE_BOOLEAN, 0);
  /* hold () and resume (): by re-INVITE (sendonly, then sendrecv); nothing
   * is sent while held (what the far end sends is still played). */
  g_signal_new_class_handler ("hold", type, action, G_CALLBACK (hold_action),
      nullptr, nullptr, nullptr, G_TYPE_BOOLEAN, 0);
  g_signal_new_class_handler ("resume", type, action,
      G_CALLBACK (resume_action), nullptr, nullptr, nullptr, G_TYPE_BOOLEAN, 0);
  /* send-dtmf (digits): 0-9 * # A-D, one after another, as dtmf-method
   * says. */
  g_signal_new_class_handler ("send-dtmf", type, action,
      G_CALLBACK (send_dtmf_action), nullptr, nullptr, nullptr, G_TYPE_BOOLEAN,
      1, G_TYPE_STRING);
  /* transfer (uri): asks the far end to call uri (REFER); its progress is
   * posted as sipphone-transfer messages, and the call ends here once the
   * far end reaches the target. */
  g_signal_new_class_handler ("transfer", type, action,
      G_CALLBACK (transfer_action), nullptr, nullptr, nullptr, G_TYPE_BOOLEAN,
      1, G_TYPE_STRING);
}

}  // namespace sipphone
