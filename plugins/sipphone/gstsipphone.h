/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sipphone: a phone line in a pipeline, over SIP on a WebSocket (RFC 7118)
 * with WebRTC media. Audio into its sink pad is what the line says; its src
 * pad gives what the line hears (timestamped silence when no call is up).
 * The engine is rt::Phone (gst/realtime/phone); this is its GStreamer
 * face. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_SIP_PHONE (gst_sip_phone_get_type ())
G_DECLARE_FINAL_TYPE (GstSipPhone, gst_sip_phone, GST, SIP_PHONE, GstBin)

/* The line's state, as the call-state property reads it. */
typedef enum {
  GST_SIP_PHONE_IDLE,
  GST_SIP_PHONE_REGISTERING,
  GST_SIP_PHONE_REGISTERED,
  GST_SIP_PHONE_CALLING,
  GST_SIP_PHONE_RINGING,
  GST_SIP_PHONE_CONNECTED,
  GST_SIP_PHONE_HELD,
  GST_SIP_PHONE_ENDED,
  GST_SIP_PHONE_FAILED,
} GstSipPhoneState;

GType gst_sip_phone_state_get_type (void);
#define GST_TYPE_SIP_PHONE_STATE (gst_sip_phone_state_get_type ())

/* How digits go to the far end, as the dtmf-method property reads it. */
typedef enum {
  GST_SIP_PHONE_DTMF_RTP,
  GST_SIP_PHONE_DTMF_INFO,
} GstSipPhoneDtmfMethod;

GType gst_sip_phone_dtmf_method_get_type (void);
#define GST_TYPE_SIP_PHONE_DTMF_METHOD (gst_sip_phone_dtmf_method_get_type ())

GST_ELEMENT_REGISTER_DECLARE (sipphone);

G_END_DECLS
