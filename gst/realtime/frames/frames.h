/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Still images of the user's screen or camera for the agent: which frames
 * are worth sending, and each one made into a conversation.item.create
 * event that fits the events data channel.
 *
 * The service takes images only as JPEG or PNG data URLs inside a client
 * event, and webrtcbin 1.22 silently drops a data channel message larger
 * than its limit, so the budget is the size of the whole event text, not of
 * the image: the base64 and JSON around the JPEG are counted exactly, and
 * the quality, then the size, come down until the event fits. An image
 * costs the agent tokens and the link bandwidth, so a frame that looks like
 * the last image sent is not sent again: a small luma thumbnail decides, and
 * an unchanged screen costs nothing more than that thumbnail.
 *
 * Pure engine code: GstVideo for formats and scaling, libjpeg for encoding,
 * json-glib for the event; no elements, no clock of its own (the caller
 * passes the time, so the policy is tested without waiting). For a frame
 * mapped with gst_video_frame_map:
 *
 *   if (policy.due (now_ms) &&
 *       policy.offer (now_ms, make_thumbnail (&frame)) == FrameDecision::Send) {
 *     ImageResult r = encoder.encode (&frame, settings);
 *     if (r.ok && <r.event sent on the data channel>)
 *       policy.sent ();
 *     else if (!r.ok)
 *       <warn with r.failure, count a skipped frame>
 *   }
 *
 * One header per concern: thumbnail.h (what a frame looks like, cheaply),
 * frame_policy.h (when a frame is worth sending), image_settings.h,
 * image_event.h (the event and its exact size) and image_encoder.h
 * (scaling and JPEG within the budget). The encoder's parts, scaling.h,
 * jpeg.h and image_search.h, are internal to frames/.
 */
#pragma once

#include "frames/frame_policy.h"
#include "frames/image_encoder.h"
#include "frames/image_event.h"
#include "frames/image_settings.h"
#include "frames/thumbnail.h"
