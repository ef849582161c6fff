/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writes the plugins cache of GStreamer's documentation tooling
 * (docs/gst_plugins_cache.json, read by hotdoc's gst extension) for the
 * plugin files named on its command line, in the format that GStreamer's
 * gst-hotdoc-plugins-scanner and gst-plugins-doc-cache-generator make
 * together (Debian 12 ships neither): plugins, their elements with pad
 * templates, properties, signals, hierarchy and interfaces, and the
 * "other-types" (enums, flags, base classes) marked as plugin API; keys
 * sorted, four-space indents.
 *
 *   gst-plugins-cache OUTPUT PLUGIN-FILE...
 *
 * Unlike the scanner, a plugin that does not load is an error (a cache
 * without it would pass for a complete one), and the cache is written
 * afresh, not merged into the previous one, so that what a plugin no
 * longer has leaves it too. */

#include <gst/gst.h>

#include <algorithm>
#include <clocale>
#include <cstdarg>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace {

/* What the cache holds: strings, booleans, arrays and objects whose keys
 * are written sorted (std::map's byte order is the code point order that
 * Python's sort_keys gives). */
struct Json {
  enum Kind { Object, Array, String, Bool } kind = Object;
  std::string text;
  bool flag = false;
  std::vector<Json> items;
  std::map<std::string, Json> members;

  Json () = default;
  Json (std::string s) : kind (String), text (std::move (s)) {}
  Json (const char *s) : kind (String), text (s ? s : "") {}
  Json (bool b) : kind (Bool), flag (b) {}
  static Json array ()
  {
    Json j;
    j.kind = Array;
    return j;
  }
  Json &operator[] (const std::string &key) { return members[key]; }
};

/* Python's json.dump with ensure_ascii=False: UTF-8 kept as it is, control
 * characters escaped. */
void write_string (std::string &out, const std::string &s)
{
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          g_snprintf (buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += (char) c;
        }
    }
  }
  out += '"';
}

void write (std::string &out, const Json &v, int depth)
{
  const std::string inner ((depth + 1) * 4, ' ');
  switch (v.kind) {
    case Json::String: write_string (out, v.text); return;
    case Json::Bool: out += v.flag ? "true" : "false"; return;
    case Json::Array:
      if (v.items.empty ()) {
        out += "[]";
        return;
      }
      out += "[\n";
      for (size_t i = 0; i < v.items.size (); i++) {
        out += (i ? ",\n" : "") + inner;
        write (out, v.items[i], depth + 1);
      }
      out += "\n" + std::string (depth * 4, ' ') + "]";
      return;
    case Json::Object:
      if (v.members.empty ()) {
        out += "{}";
        return;
      }
      out += "{\n";
      for (auto it = v.members.begin (); it != v.members.end (); ++it) {
        out += (it != v.members.begin () ? ",\n" : "") + inner;
        write_string (out, it->first);
        out += ": ";
        write (out, it->second, depth + 1);
      }
      out += "\n" + std::string (depth * 4, ' ') + "}";
      return;
  }
}

/* Strings as the scanner writes them: a missing one reads "NULL", and
 * every '%' is doubled (GStreamer's caches hold "100%%"). */
std::string doc_string (const char *s)
{
  if (!s)
    return "NULL";
  std::string out;
  for (const char *p = s; *p; p++) {
    if (*p == '%')
      out += '%';
    out += *p;
  }
  return out;
}

std::string take (gchar *s)
{
  std::string out = s ? s : "";
  g_free (s);
  return out;
}

std::string number (const char *format, ...) G_GNUC_PRINTF (1, 2);
std::string number (const char *format, ...)
{
  va_list args;
  va_start (args, format);
  std::string out = take (g_strdup_vprintf (format, args));
  va_end (args);
  return out;
}

/* Locale-independent "%g", as the scanner prints in the C numeric
 * locale. */
std::string real (double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  return g_ascii_formatd (buf, sizeof buf, "%g", v);
}

/* One plugin's other-types and the names already described. */
struct Scan {
  std::map<std::string, Json> other_types;
  std::set<std::string> seen;
};

void describe_object (Scan &scan, GType type, GType inst_type);

/* An enum's or flags type's values, as the scanner writes them: the
 * value in decimal for an enum, in hexadecimal for flags. */
template <typename Class> Json value_list (GType type)
{
  constexpr bool flags = std::is_same<Class, GFlagsClass>::value;
  auto *klass = (Class *) g_type_class_ref (type);
  Json values = Json::array ();
  for (guint i = 0; i < klass->n_values; i++) {
    const auto &v = klass->values[i];
    Json item;
    item["name"] = doc_string (v.value_nick);
    item["value"] = flags ? number ("0x%08x", (guint) v.value) :
                            number ("%d", (int) v.value);
    item["desc"] = doc_string (v.value_name);
    values.items.push_back (item);
  }
  g_type_class_unref (klass);
  return values;
}

void describe_values (Scan &scan, GType type, GstPluginAPIFlags api_flags)
{
  Json &e = scan.other_types[g_type_name (type)];
  const bool flags = G_TYPE_IS_FLAGS (type);
  e["kind"] = flags ? "flags" : "enum";
  if (!flags && (api_flags & GST_PLUGIN_API_FLAG_IGNORE_ENUM_MEMBERS))
    e["ignore-enum-members"] = true;
  else
    e["values"] = flags ? value_list<GFlagsClass> (type) :
                          value_list<GEnumClass> (type);
}

/* Describes type among the other-types the first time a plugin's element
 * mentions it, if it is plugin API (anything else is GStreamer's or
 * GLib's, documented there). */
void mention (Scan &scan, GType type, GType inst_type)
{
  GstPluginAPIFlags api_flags = (GstPluginAPIFlags) 0;
  const char *name = g_type_name (type);
  if (!name || scan.seen.count (name) ||
      !gst_type_is_plugin_api (type, &api_flags))
    return;
  scan.seen.insert (name);
  if (G_TYPE_IS_ENUM (type) || G_TYPE_IS_FLAGS (type))
    describe_values (scan, type, api_flags);
  else if (g_type_is_a (type, G_TYPE_OBJECT) || G_TYPE_IS_INTERFACE (type))
    describe_object (scan, type, inst_type);
}

/* The scanner's flags default: the nick of an exact value, else the set
 * flags' nicks from the highest down, joined by '+'. */
std::string flags_text (GType type, guint flags)
{
  auto *klass = (GFlagsClass *) g_type_class_ref (type);
  std::string out;
  for (guint i = 0; i < klass->n_values && out.empty (); i++)
    if (klass->values[i].value == flags)
      out = klass->values[i].value_nick;
  if (out.empty ()) {
    guint left = flags;
    for (guint i = klass->n_values; i > 0 && left; i--) {
      guint v = klass->values[i - 1].value;
      if (v && (left & v) == v) {
        out += (out.empty () ? "" : "+") +
            std::string (klass->values[i - 1].value_nick);
        left &= ~v;
      }
    }
    if (out.empty ())
      out = "(none)";
  }
  g_type_class_unref (klass);
  return out;
}

/* "default", "min" and "max" as the scanner writes them (its integer
 * formats included: a guint above G_MAXINT reads negative). */
void add_default (Json &p, GParamSpec *spec, const GValue *value)
{
  GType t = G_VALUE_TYPE (value);
  if (t == G_TYPE_STRING) {
    p["default"] = doc_string (g_value_get_string (value));
  } else if (t == G_TYPE_BOOLEAN) {
    p["default"] = g_value_get_boolean (value) ? "true" : "false";
  } else if (t == G_TYPE_INT || t == G_TYPE_UINT) {
    int v, min, max;
    if (t == G_TYPE_INT) {
      auto *s = G_PARAM_SPEC_INT (spec);
      v = g_value_get_int (value), min = s->minimum, max = s->maximum;
    } else {
      auto *s = G_PARAM_SPEC_UINT (spec);
      v = (int) g_value_get_uint (value), min = (int) s->minimum;
      max = (int) s->maximum;
    }
    p["default"] = number ("%d", v);
    p["min"] = number ("%d", min);
    p["max"] = number ("%d", max);
  } else if (t == G_TYPE_INT64) {
    auto *s = G_PARAM_SPEC_INT64 (spec);
    p["default"] = number ("%" G_GUINT64_FORMAT,
        (guint64) g_value_get_int64 (value));
    p["min"] = number ("%" G_GINT64_FORMAT, s->minimum);
    p["max"] = number ("%" G_GINT64_FORMAT, s->maximum);
  } else if (t == G_TYPE_UINT64) {
    auto *s = G_PARAM_SPEC_UINT64 (spec);
    p["default"] = number ("%" G_GUINT64_FORMAT, g_value_get_uint64 (value));
    p["min"] = number ("%" G_GUINT64_FORMAT, s->minimum);
    p["max"] = number ("%" G_GUINT64_FORMAT, s->maximum);
  } else if (t == G_TYPE_LONG) {
    auto *s = G_PARAM_SPEC_LONG (spec);
    p["default"] = number ("%ld", g_value_get_long (value));
    p["min"] = number ("%ld", s->minimum);
    p["max"] = number ("%ld", s->maximum);
  } else if (t == G_TYPE_ULONG) {
    auto *s = G_PARAM_SPEC_ULONG (spec);
    p["default"] = number ("%lu", g_value_get_ulong (value));
    p["min"] = number ("%lu", s->minimum);
    p["max"] = number ("%lu", s->maximum);
  } else if (t == G_TYPE_FLOAT) {
    auto *s = G_PARAM_SPEC_FLOAT (spec);
    p["default"] = real (g_value_get_float (value));
    p["min"] = real (s->minimum);
    p["max"] = real (s->maximum);
  } else if (t == G_TYPE_DOUBLE) {
    auto *s = G_PARAM_SPEC_DOUBLE (spec);
    p["default"] = real (g_value_get_double (value));
    p["min"] = real (s->minimum);
    p["max"] = real (s->maximum);
  } else if (t == GST_TYPE_CAPS) {
    if (const GstCaps *caps = gst_value_get_caps (value))
      p["default"] = doc_string (take (gst_caps_to_string (caps)).c_str ());
  } else if (t == GST_TYPE_STRUCTURE) {
    if (const GstStructure *s = gst_value_get_structure (value))
      p["default"] = doc_string (take (gst_structure_to_string (s)).c_str ());
  } else if (GST_IS_PARAM_SPEC_FRACTION (spec)) {
    auto *s = GST_PARAM_SPEC_FRACTION (spec);
    p["default"] = number ("%d/%d", gst_value_get_fraction_numerator (value),
        gst_value_get_fraction_denominator (value));
    p["min"] = number ("%d/%d", s->min_num, s->min_den);
    p["max"] = number ("%d/%d", s->max_num, s->max_den);
  } else if (G_IS_PARAM_SPEC_ENUM (spec)) {
    int v = g_value_get_enum (value);
    GEnumValue *ev = g_enum_get_value (G_PARAM_SPEC_ENUM (spec)->enum_class, v);
    p["default"] = (ev ? doc_string (ev->value_nick) : std::string ()) +
        number (" (%d)", v);
  } else if (G_IS_PARAM_SPEC_FLAGS (spec)) {
    p["default"] = flags_text (t, g_value_get_flags (value));
  }
}

const char *mutable_in (GParamFlags flags)
{
  if (flags & GST_PARAM_MUTABLE_PLAYING)
    return "playing";
  if (flags & GST_PARAM_MUTABLE_PAUSED)
    return "paused";
  if (flags & GST_PARAM_MUTABLE_READY)
    return "ready";
  return "null";
}

/* The properties that type itself installs, with the values a new object
 * has: read back when readable (unless the property asks for its declared
 * default with GST_PARAM_DOC_SHOW_DEFAULT), else the declared default, so
 * a write-only property never shows more than its declaration. */
void add_properties (Json &j, GObject *object, GType type, Scan &scan)
{
  guint n = 0;
  GParamSpec **specs = g_object_class_list_properties (
      G_OBJECT_GET_CLASS (object), &n);
  for (guint i = 0; i < n; i++) {
    GParamSpec *spec = specs[i];
    if (spec->owner_type != type)
      continue;
    GValue value = G_VALUE_INIT;
    g_value_init (&value, spec->value_type);
    if ((spec->flags & G_PARAM_READABLE) &&
        !(spec->flags & GST_PARAM_DOC_SHOW_DEFAULT))
      g_object_get_property (object, spec->name, &value);
    else
      g_param_value_set_default (spec, &value);

    Json &p = j["properties"][spec->name];
    p["construct-only"] = (spec->flags & G_PARAM_CONSTRUCT_ONLY) != 0;
    p["construct"] = (spec->flags & G_PARAM_CONSTRUCT) != 0;
    p["readable"] = (spec->flags & G_PARAM_READABLE) != 0;
    p["writable"] = (spec->flags & G_PARAM_WRITABLE) != 0;
    p["blurb"] = doc_string (g_param_spec_get_blurb (spec));
    p["controllable"] = (spec->flags & GST_PARAM_CONTROLLABLE) != 0;
    p["conditionally-available"] = (spec->flags &
                                       GST_PARAM_CONDITIONALLY_AVAILABLE) != 0;
    p["mutable"] = mutable_in (spec->flags);
    p["type"] = g_type_name (spec->value_type);

    GType inst_type = spec->value_type;
    if (G_IS_PARAM_SPEC_OBJECT (spec) && g_value_get_object (&value))
      inst_type = G_OBJECT_TYPE (g_value_get_object (&value));
    mention (scan, spec->value_type, inst_type);
    add_default (p, spec, &value);
    g_value_unset (&value);
  }
  g_free (specs);
}

/* The signals that type itself defines. */
void add_signals (Json &j, GType type, Scan &scan)
{
  guint n = 0;
  guint *ids = g_signal_list_ids (type, &n);
  for (guint i = 0; i < n; i++) {
    GSignalQuery q;
    g_signal_query (ids[i], &q);
    Json &s = j["signals"][q.signal_name];
    Json args = Json::array ();
    for (guint k = 0; k < q.n_params; k++) {
      GType t = q.param_types[k] & ~G_SIGNAL_TYPE_STATIC_SCOPE;
      Json arg;
      arg["name"] = number ("arg%u", k);
      arg["type"] = g_type_name (t);
      args.items.push_back (arg);
      mention (scan, t, t);
    }
    s["args"] = args;
    GType ret = q.return_type & ~G_SIGNAL_TYPE_STATIC_SCOPE;
    mention (scan, ret, ret);
    s["return-type"] = g_type_name (ret);
    if (q.signal_flags & G_SIGNAL_RUN_FIRST)
      s["when"] = "first";
    else if (q.signal_flags & G_SIGNAL_RUN_LAST)
      s["when"] = "last";
    else if (q.signal_flags & G_SIGNAL_RUN_CLEANUP)
      s["when"] = "cleanup";
    if (q.signal_flags & G_SIGNAL_NO_RECURSE)
      s["no-recurse"] = true;
    if (q.signal_flags & G_SIGNAL_DETAILED)
      s["detailed"] = true;
    if (q.signal_flags & G_SIGNAL_ACTION)
      s["action"] = true;
    if (q.signal_flags & G_SIGNAL_NO_HOOKS)
      s["no-hooks"] = true;
  }
  g_free (ids);
}

/* Hierarchy, interfaces, properties and signals of type, as an object of
 * inst_type (type itself may be abstract: a base class, an interface). */
void add_object_details (Json &j, GObject *object, GType type, Scan &scan)
{
  const GType inst_type = G_OBJECT_TYPE (object);
  Json hierarchy = Json::array ();
  for (GType t = type; t; t = g_type_parent (t)) {
    hierarchy.items.push_back (g_type_name (t));
    mention (scan, t, inst_type);
    if (t == G_TYPE_OBJECT || t == G_TYPE_INTERFACE)
      break;
  }
  j["hierarchy"] = hierarchy;

  guint n = 0;
  GType *ifaces = g_type_interfaces (type, &n);
  if (n) {
    Json list = Json::array ();
    for (guint i = 0; i < n; i++) {
      list.items.push_back (g_type_name (ifaces[i]));
      mention (scan, ifaces[i], inst_type);
    }
    j["interfaces"] = list;
  }
  g_free (ifaces);
  add_properties (j, object, type, scan);
  add_signals (j, type, scan);
}

void describe_object (Scan &scan, GType type, GType inst_type)
{
  Json &o = scan.other_types[g_type_name (type)];
  o["kind"] = G_TYPE_IS_INTERFACE (type) ? "interface" : "object";
  auto *object = (GObject *) g_object_new (inst_type, nullptr);
  if (g_object_is_floating (object))
    g_object_ref_sink (object);
  add_object_details (o, object, type, scan);
  g_object_unref (object);
}

/* A caps field as the scanner prints it, type names dropped from formats
 * and rates. */
gboolean caps_field (GQuark field, const GValue *value, gpointer data)
{
  std::string v = take (gst_value_serialize (value));
  const char *name = g_quark_to_string (field);
  if (!g_strcmp0 (name, "format") || !g_strcmp0 (name, "rate")) {
    for (const std::string cast : { "(string)", "(rate)" })
      for (size_t at; (at = v.find (cast)) != std::string::npos;)
        v.erase (at, cast.size ());
  }
  *(std::string *) data += number ("%15s: %s\n", name, v.c_str ());
  return TRUE;
}

std::string caps_text (const GstCaps *caps)
{
  if (gst_caps_is_any (caps))
    return "ANY";
  if (gst_caps_is_empty (caps))
    return "EMPTY";
  std::string out;
  for (guint i = 0; i < gst_caps_get_size (caps); i++) {
    GstStructure *s = gst_caps_get_structure (caps, i);
    GstCapsFeatures *f = gst_caps_get_features (caps, i);
    if (f &&
        (gst_caps_features_is_any (f) ||
            !gst_caps_features_is_equal (f,
                GST_CAPS_FEATURES_MEMORY_SYSTEM_MEMORY)))
      out += number ("%s%s(%s):\n", i ? "\n" : "", gst_structure_get_name (s),
          take (gst_caps_features_to_string (f)).c_str ());
    else
      out += std::string (gst_structure_get_name (s)) + ":\n";
    gst_structure_foreach (s, caps_field, &out);
  }
  return doc_string (out.c_str ());
}

void add_pad_templates (Json &j, GstElement *element,
    GstElementFactory *factory, Scan &scan)
{
  for (const GList *l = gst_element_factory_get_static_pad_templates (factory);
       l; l = l->next) {
    auto *st = (GstStaticPadTemplate *) l->data;
    GstPadTemplate *tmpl = gst_element_class_get_pad_template (
        GST_ELEMENT_GET_CLASS (element), st->name_template);
    Json &p = j["pad-templates"][doc_string (st->name_template)];
    GstCaps *caps = gst_pad_template_get_documentation_caps (tmpl);
    p["caps"] = caps_text (caps);
    gst_caps_unref (caps);
    p["direction"] = st->direction == GST_PAD_SRC ? "src" :
        st->direction == GST_PAD_SINK             ? "sink" :
                                                    "unknown";
    p["presence"] = st->presence == GST_PAD_ALWAYS ? "always" :
        st->presence == GST_PAD_SOMETIMES          ? "sometimes" :
        st->presence == GST_PAD_REQUEST            ? "request" :
                                                     "unknown";
    GType pad_type = GST_PAD_TEMPLATE_GTYPE (tmpl);
    if (pad_type != G_TYPE_NONE && pad_type != GST_TYPE_PAD) {
      p["type"] = g_type_name (pad_type);
      mention (scan, pad_type, pad_type);
    }
  }
}

/* The scanner's rank names: exact, else the nearest with the difference. */
std::string rank_name (int rank)
{
  static const int ranks[] = { GST_RANK_NONE, GST_RANK_MARGINAL,
    GST_RANK_SECONDARY, GST_RANK_PRIMARY };
  static const char *const names[] = { "none", "marginal", "secondary",
    "primary" };
  int best = 0;
  for (int i = 0; i < 4; i++) {
    if (rank == ranks[i])
      return names[i];
    if (std::abs (rank - ranks[i]) < std::abs (rank - ranks[best]))
      best = i;
  }
  return number ("%s %c %d", names[best], rank > ranks[best] ? '+' : '-',
      std::abs (ranks[best] - rank));
}

Json describe_element (GstElementFactory *factory, Scan &scan)
{
  GstElement *element = gst_element_factory_create (factory, nullptr);
  if (!element)
    g_error ("could not make %s", GST_OBJECT_NAME (factory));
  gst_object_ref_sink (element);

  Json e;
  e["rank"] = rank_name (
      gst_plugin_feature_get_rank (GST_PLUGIN_FEATURE (factory)));
  /* The scanner leaves long-name out, as some elements name the hardware
   * they find there; GStreamer's committed caches keep it, and these
   * elements' long names are fixed strings. */
  gchar **keys = gst_element_factory_get_metadata_keys (factory);
  for (gchar **k = keys; k && *k; k++)
    e[*k] = doc_string (gst_element_factory_get_metadata (factory, *k));
  g_strfreev (keys);
  add_object_details (e, G_OBJECT (element), G_OBJECT_TYPE (element), scan);
  add_pad_templates (e, element, factory, scan);
  gst_object_unref (element);
  return e;
}

/* libgstsipphone.so → gstsipphone: no directory, no suffix. */
std::string file_stem (const char *path)
{
  std::string base = take (g_path_get_basename (path));
  base = base.substr (0, base.find ('.'));
  return g_str_has_prefix (base.c_str (), "lib") ? base.substr (3) : base;
}

/* gst-plugins-doc-cache-generator drops a package's release kind. */
std::string package_name (const char *package)
{
  std::string p = package ? package : "";
  for (const std::string tail : { " git", " source release", " prerelease" })
    if (g_str_has_suffix (p.c_str (), tail.c_str ()))
      return p.substr (0, p.size () - tail.size ());
  return p;
}

Json describe_plugin (GstPlugin *plugin, const char *file)
{
  Scan scan;
  Json p;
  p["description"] = gst_plugin_get_description (plugin);
  p["filename"] = file_stem (file);
  p["source"] = gst_plugin_get_source (plugin);
  p["package"] = package_name (gst_plugin_get_package (plugin));
  p["license"] = gst_plugin_get_license (plugin);
  p["url"] = gst_plugin_get_origin (plugin);
  p["elements"] = Json ();
  p["tracers"] = Json ();

  GList *features = gst_registry_get_feature_list_by_plugin (
      gst_registry_get (), gst_plugin_get_name (plugin));
  /* By name: the first element to mention a shared base class is the one
   * whose instance shows its defaults, the same one on every run. */
  std::vector<GstPluginFeature *> sorted;
  for (GList *l = features; l; l = l->next)
    sorted.push_back (GST_PLUGIN_FEATURE (l->data));
  std::sort (sorted.begin (), sorted.end (), [] (auto *a, auto *b) {
    return g_strcmp0 (GST_OBJECT_NAME (a), GST_OBJECT_NAME (b)) < 0;
  });
  for (GstPluginFeature *f : sorted) {
    if (GST_IS_ELEMENT_FACTORY (f) &&
        !gst_element_factory_get_skip_documentation (GST_ELEMENT_FACTORY (f)))
      p["elements"][GST_OBJECT_NAME (f)] = describe_element (
          GST_ELEMENT_FACTORY (f), scan);
    else if (GST_IS_TRACER_FACTORY (f))
      p["tracers"][GST_OBJECT_NAME (f)] = Json ();
  }
  gst_plugin_feature_list_free (features);
  p["other-types"] = Json ();
  p["other-types"].members = scan.other_types;
  return p;
}

}  // namespace

int main (int argc, char **argv)
{
  if (argc < 3) {
    g_printerr ("usage: %s OUTPUT PLUGIN-FILE...\n", argv[0]);
    return 2;
  }
  setlocale (LC_ALL, "");
  setlocale (LC_NUMERIC, "C");
  /* Only the given files' directories: another copy of the same plugins
   * (installed, or another build in $GST_PLUGIN_PATH) would be found first
   * under the same names. */
  std::string dirs;
  for (int i = 2; i < argc; i++)
    dirs += (i > 2 ? ":" : "") + take (g_path_get_dirname (argv[i]));
  g_setenv ("GST_PLUGIN_PATH_1_0", dirs.c_str (), TRUE);
  g_unsetenv ("GST_PLUGIN_PATH");
  gst_init (nullptr, nullptr);

  Json cache;
  for (int i = 2; i < argc; i++) {
    GError *error = nullptr;
    GstPlugin *plugin = gst_plugin_load_file (argv[i], &error);
    if (!plugin) {
      g_printerr ("%s could not be loaded as a plugin: %s\n", argv[i],
          error ? error->message : "no reason given");
      g_clear_error (&error);
      return 1;
    }
    cache[gst_plugin_get_name (plugin)] = describe_plugin (plugin, argv[i]);
    gst_object_unref (plugin);
  }

  std::string text;
  write (text, cache, 0);
  text += '\n';
  GError *error = nullptr;
  if (!g_file_set_contents (argv[1], text.c_str (), text.size (), &error)) {
    g_printerr ("could not write %s: %s\n", argv[1], error->message);
    g_clear_error (&error);
    return 1;
  }
  return 0;
}
