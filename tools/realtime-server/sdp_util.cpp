/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sdp_util.h"

#include <cstdio>
#include <cstring>

namespace rts {

namespace {

int find_opus_pt (const GstSDPMedia *media)
{
  for (guint i = 0; i < gst_sdp_media_attributes_len (media); i++) {
    const GstSDPAttribute *attr = gst_sdp_media_get_attribute (media, i);
    if (g_strcmp0 (attr->key, "rtpmap") != 0 || !attr->value)
      continue;
    int pt = -1;
    char codec[64] = "";
    if (sscanf (attr->value, "%d %63[^/]", &pt, codec) == 2 &&
        g_ascii_strcasecmp (codec, "opus") == 0)
      return pt;
  }
  return -1;
}

}  // namespace

GstSDPMessage *parse_offer (const std::string &text, OfferInfo *info,
    std::string *error)
{
  GstSDPMessage *sdp = nullptr;
  gst_sdp_message_new (&sdp);
  if (gst_sdp_message_parse_buffer (
          reinterpret_cast<const guint8 *> (text.data ()),
          static_cast<guint> (text.size ()), sdp) != GST_SDP_OK ||
      gst_sdp_message_medias_len (sdp) == 0 ||
      !gst_sdp_message_get_version (sdp)) {
    // The GStreamer parser accepts almost anything; an SDP without v= or media is not one.
    *error = "Invalid SDP offer: could not parse the session description.";
    gst_sdp_message_free (sdp);
    return nullptr;
  }
  bool has_audio = false;
  for (guint i = 0; i < gst_sdp_message_medias_len (sdp); i++) {
    GstSDPMedia *media = const_cast<GstSDPMedia *> (
        gst_sdp_message_get_media (sdp, i));
    if (g_strcmp0 (gst_sdp_media_get_media (media), "audio") == 0 &&
        info->opus_pt < 0) {
      has_audio = true;
      info->opus_pt = find_opus_pt (media);
    }
    // Walk backwards so removal does not shift what is still to be visited.
    for (gint a = static_cast<gint> (gst_sdp_media_attributes_len (media)) - 1;
         a >= 0; a--) {
      const GstSDPAttribute *attr = gst_sdp_media_get_attribute (media, a);
      if (g_strcmp0 (attr->key, "candidate") == 0) {
        gst_sdp_media_remove_attribute (media, a);
        info->removed_candidates++;
      } else if (g_strcmp0 (attr->key, "end-of-candidates") == 0) {
        gst_sdp_media_remove_attribute (media, a);
      }
    }
  }
  if (!has_audio) {
    *error = "The SDP offer must contain an audio media section.";
    gst_sdp_message_free (sdp);
    return nullptr;
  }
  if (info->opus_pt < 0) {
    *error = "The SDP offer's audio media section does not offer opus/48000/2.";
    gst_sdp_message_free (sdp);
    return nullptr;
  }
  return sdp;
}

std::string answer_with_candidates (const std::string &answer,
    const std::vector<std::string> &candidates)
{
  GstSDPMessage *sdp = nullptr;
  if (gst_sdp_message_new_from_text (answer.c_str (), &sdp) != GST_SDP_OK) {
    if (sdp)
      gst_sdp_message_free (sdp);
    return answer;
  }
  for (guint i = 0; i < gst_sdp_message_medias_len (sdp); i++) {
    GstSDPMedia *media = const_cast<GstSDPMedia *> (
        gst_sdp_message_get_media (sdp, i));
    if (gst_sdp_media_get_port (media) == 0)
      continue;  // rejected m-line
    bool has_any = gst_sdp_media_get_attribute_val (media, "candidate") !=
        nullptr;
    if (!has_any) {
      for (const std::string &c : candidates) {
        const char *value = c.c_str ();
        if (g_str_has_prefix (value, "a="))
          value += 2;
        if (g_str_has_prefix (value, "candidate:"))
          value += strlen ("candidate:");
        gst_sdp_media_add_attribute (media, "candidate", value);
      }
    }
    if (!gst_sdp_media_get_attribute_val (media, "end-of-candidates"))
      gst_sdp_media_add_attribute (media, "end-of-candidates", nullptr);
  }
  gchar *text = gst_sdp_message_as_text (sdp);
  std::string out (text);
  g_free (text);
  gst_sdp_message_free (sdp);
  return out;
}

}  // namespace rts
