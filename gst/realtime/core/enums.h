/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one way the project's plugins register their enum and flags types:
 * the values with their descriptions (what gst-inspect-1.0 prints) and
 * nicks (what the properties take), registered once, on first use,
 * thread-safely. */
#pragma once

#include <gst/gst.h>

#define RT_DEFINE_ENUM(func, TypeName, ...)                                    \
  GType func (void)                                                            \
  {                                                                            \
    static GType type = 0;                                                     \
    static const GEnumValue values[] = { __VA_ARGS__,                          \
      { 0, nullptr, nullptr } };                                               \
    if (g_once_init_enter (&type))                                             \
      g_once_init_leave (&type, g_enum_register_static (TypeName, values));    \
    return type;                                                               \
  }

#define RT_DEFINE_FLAGS(func, TypeName, ...)                                   \
  GType func (void)                                                            \
  {                                                                            \
    static GType type = 0;                                                     \
    static const GFlagsValue values[] = { __VA_ARGS__,                         \
      { 0, nullptr, nullptr } };                                               \
    if (g_once_init_enter (&type))                                             \
      g_once_init_leave (&type, g_flags_register_static (TypeName, values));   \
    return type;                                                               \
  }

/* Marks the project's enum and flags types among klass's properties (those
 * named Gst… by the project's plugins, not GStreamer's own) as plugin API,
 * so that documentation tools describe them with the element. Called at the
 * end of each element's class_init. */
static inline void rt_mark_enums_as_plugin_api (GObjectClass *klass)
{
  static const char *const ours[] = { "GstOpenAIRealtime", "GstWebRTCBroadcast",
    "GstSipPhone", nullptr };
  guint n = 0;
  GParamSpec **specs = g_object_class_list_properties (klass, &n);
  for (guint i = 0; i < n; i++) {
    GType t = G_PARAM_SPEC_VALUE_TYPE (specs[i]);
    if (!G_TYPE_IS_ENUM (t) && !G_TYPE_IS_FLAGS (t))
      continue;
    for (const char *const *p = ours; *p; p++)
      if (g_str_has_prefix (g_type_name (t), *p))
        gst_type_mark_as_plugin_api (t, (GstPluginAPIFlags) 0);
  }
  g_free (specs);
}
