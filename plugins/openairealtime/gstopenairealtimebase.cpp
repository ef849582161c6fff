/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gstopenairealtimebase.h"

#include "callgroup.h"
#include "callproperties.h"
#include "callreport.h"
#include "gstephemeraltokenprovider.h"
#include "openai/credentials.h"

#include <mutex>

GST_DEBUG_CATEGORY (gst_openai_realtime_base_debug);
#define GST_CAT_DEFAULT gst_openai_realtime_base_debug

using namespace callprops;

/* The C++ state of the element, created in init and destroyed in finalize;
 * fields grouped by the lock that guards them. */
class BaseState : public CallMember {
 public:
  explicit BaseState (GstElement *e) : element (e) {}

  std::string name () const override
  {
    gchar *name = gst_object_get_name (GST_OBJECT (element));
    GstElementFactory *f = gst_element_get_factory (element);
    std::string out = std::string ("'") + (name ? name : "") + "' (" +
        (f ? GST_OBJECT_NAME (f) : G_OBJECT_TYPE_NAME (element)) + ")";
    g_free (name);
    return out;
  }

  Values values () const override
  {
    std::lock_guard<std::mutex> l (lock);
    return props;
  }

  GstElement *const element;
  /* Set by the subclass's init, only read afterwards. */
  GstOpenAIRealtimeMediaHooks hooks;

  mutable std::mutex lock;
  Values props; /* the table's values */
  gint connection_state = (gint) rt::ConnectionState::Idle;
  GstEphemeralTokenProvider *provider =
      nullptr;                               /* a reference, from a context */
  std::shared_ptr<CallGroup> group;          /* from READY on */
  std::shared_ptr<rt::Call> call;            /* in PAUSED and PLAYING */
  std::shared_ptr<ElementReporter> reporter; /* what the call reports to */
};

struct GstOpenAIRealtimeBasePrivate {
  BaseState *state;
};

#define gst_openai_realtime_base_parent_class parent_class
G_DEFINE_ABSTRACT_TYPE_WITH_CODE (GstOpenAIRealtimeBase,
    gst_openai_realtime_base, GST_TYPE_BIN,
    G_ADD_PRIVATE (GstOpenAIRealtimeBase)
        GST_DEBUG_CATEGORY_INIT (gst_openai_realtime_base_debug,
            "openairealtimebase", 0, "What the realtime media elements share"));

static BaseState *state_of (gpointer self)
{
  auto *priv = static_cast<GstOpenAIRealtimeBasePrivate *> (
      gst_openai_realtime_base_get_instance_private (
          GST_OPENAI_REALTIME_BASE (self)));
  return priv->state;
}

static void set_connection_state (GstElement *element,
    rt::ConnectionState state)
{
  BaseState *st = state_of (element);
  {
    std::lock_guard<std::mutex> l (st->lock);
    if (st->connection_state == (gint) state)
      return;
    st->connection_state = (gint) state;
  }
  g_object_notify_by_pspec (G_OBJECT (element),
      pspec (index ("connection-state")));
}

std::shared_ptr<rt::Call> gst_openai_realtime_base_get_call (
    GstOpenAIRealtimeBase *self)
{
  BaseState *st = state_of (self);
  std::lock_guard<std::mutex> l (st->lock);
  return st->call;
}

void gst_openai_realtime_base_set_hooks (GstOpenAIRealtimeBase *self,
    GstOpenAIRealtimeMediaHooks hooks)
{
  state_of (self)->hooks = std::move (hooks);
}

/* Properties */

/* Sends a session change to the running call of the element's group, with
 * the settings of every element merged. False when the call refused it. */
static bool apply_session (BaseState *st, unsigned changed)
{
  std::shared_ptr<CallGroup> group;
  {
    std::lock_guard<std::mutex> l (st->lock);
    group = st->group;
  }
  if (!group || !changed)
    return true;
  std::shared_ptr<rt::Call> call;
  rt::SessionConfig full;
  {
    std::lock_guard<std::mutex> l (group->lock);
    call = group->call.lock ();
    if (!call)
      return true;
    full = rt::merge_session (group->provider_session,
        group->merge ().settings.session);
  }
  std::string error;
  if (call->update_session (full, changed, &error))
    return true;
  GST_ELEMENT_WARNING (st->element, LIBRARY, SETTINGS,
      ("The session was not updated: %s", error.c_str ()), (nullptr));
  return false;
}

static void gst_openai_realtime_base_set_property (GObject *object,
    guint prop_id, const GValue *value, GParamSpec *pspec)
{
  BaseState *st = state_of (object);
  const guint i = prop_id - 1;
  if (prop_id == 0 || i >= table_size ()) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    return;
  }
  const Property &p = table ()[i];
  GValue v = G_VALUE_INIT, old = G_VALUE_INIT;
  g_value_init (&v, G_VALUE_TYPE (value));
  g_value_copy (value, &v);
  std::string warning;
  if (p.check && !p.check (&v, &warning)) {
    g_value_unset (&v);
    /* Posted unlocked: a bus sync handler may read properties. */
    GST_ELEMENT_WARNING (st->element, LIBRARY, SETTINGS,
        ("%s", warning.c_str ()), (nullptr));
    return;
  }
  guint64 old_at;
  g_value_init (&old, G_VALUE_TYPE (value));
  {
    std::lock_guard<std::mutex> l (st->lock);
    g_value_copy (st->props.get (i), &old);
    old_at = st->props.set_at (i);
    st->props.set (i, &v);
  }
  if (p.scope == Scope::Session && !apply_session (st, p.session_fields) &&
      (p.session_fields & rt::kSessionVoice)) {
    /* Refused: the property, and later calls, keep the voice in use. */
    std::lock_guard<std::mutex> l (st->lock);
    st->props.restore (i, &old, old_at);
  }
  g_value_unset (&old);
  g_value_unset (&v);
}

static GstStructure *make_stats (GstOpenAIRealtimeBase *self)
{
  GstStructure *s = make_call_stats (gst_openai_realtime_base_get_call (self));
  auto *klass = GST_OPENAI_REALTIME_BASE_GET_CLASS (self);
  if (klass->add_stats)
    klass->add_stats (self, s);
  return s;
}

static void gst_openai_realtime_base_get_property (GObject *object,
    guint prop_id, GValue *value, GParamSpec *pspec)
{
  auto *self = GST_OPENAI_REALTIME_BASE (object);
  BaseState *st = state_of (object);
  const guint i = prop_id - 1;
  if (prop_id == 0 || i >= table_size ()) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    return;
  }
  const Property &p = table ()[i];
  if (p.scope == Scope::Status) {
    /* Read from the call, outside the element's lock. */
    if (g_str_equal (p.name, "stats")) {
      g_value_take_boxed (value, make_stats (self));
    } else if (g_str_equal (p.name, "reconnects")) {
      auto call = gst_openai_realtime_base_get_call (self);
      g_value_set_uint64 (value, call ? call->stats ().reconnects : 0);
    } else {
      std::lock_guard<std::mutex> l (st->lock);
      g_value_set_enum (value, st->connection_state);
    }
    return;
  }
  std::lock_guard<std::mutex> l (st->lock);
  const GValue *v = st->props.get (i);
  /* An unset or empty string reads as the default (api-base's URL, else
   * none). */
  const char *s = p.kind == Kind::String ? g_value_get_string (v) : nullptr;
  if (p.kind == Kind::String && (!s || !*s))
    g_param_value_set_default (pspec, value);
  else
    g_value_copy (v, value);
}

/* Joining and leaving the call */

static std::string session_name (BaseState *st)
{
  std::lock_guard<std::mutex> l (st->lock);
  const char *s = g_value_get_string (st->props.get (index ("session")));
  return s ? s : "";
}

static void enroll (BaseState *st)
{
  auto group = CallGroup::enroll (call_key (st->element, session_name (st)),
      st);
  std::lock_guard<std::mutex> l (st->lock);
  st->group = std::move (group);
}

static void withdraw (BaseState *st)
{
  std::shared_ptr<CallGroup> group;
  {
    std::lock_guard<std::mutex> l (st->lock);
    group = std::move (st->group);
  }
  if (group)
    CallGroup::withdraw (group, st);
}

static void take_context (BaseState *st, GstContext *context)
{
  GstEphemeralTokenProvider *p = gst_ephemeral_token_provider_from_context (
      context);
  if (!p)
    return;
  std::lock_guard<std::mutex> l (st->lock);
  if (st->provider)
    gst_object_unref (st->provider);
  st->provider = p;
}

/* The credentials the call starts with: a provider's minter, or the client
 * secret with where to post it. Sets *provider_session to the provider's
 * session settings (under the elements'). */
static std::shared_ptr<rt::CredentialSource> credentials (BaseState *st,
    const CallConfig &config, rt::SessionConfig *provider_session,
    GstEphemeralTokenProvider *found = nullptr)
{
  GstEphemeralTokenProvider *provider;
  {
    std::lock_guard<std::mutex> l (st->lock);
    provider = st->provider ?
        GST_EPHEMERAL_TOKEN_PROVIDER (gst_object_ref (st->provider)) :
        nullptr;
  }
  if (!provider && found)
    provider = GST_EPHEMERAL_TOKEN_PROVIDER (gst_object_ref (found));
  if (!provider && config.client_secret.empty ()) {
    GST_INFO_OBJECT (st->element,
        "no token provider in the pipeline: using "
        "one configured from the environment");
    provider = gst_ephemeral_token_provider_new_implicit ();
  }
  *provider_session = rt::SessionConfig ();
  if (!provider)
    return std::make_shared<rt::FixedSecret> (config.client_secret,
        config.api_base.empty () ? "https://api.openai.com" : config.api_base);
  auto minter = gst_ephemeral_token_provider_get_minter (provider);
  gst_object_unref (provider);
  auto snapshot = minter->snapshot ();
  *provider_session = snapshot.session;
  if (config.client_secret.empty ())
    return minter;
  /* The provider's service and shape (not its local fallback, which only
   * stands in for a missing key). */
  auto endpoint = rt::resolve_endpoint (snapshot.api_base, snapshot.flavor);
  return std::make_shared<rt::FixedSecret> (config.client_secret,
      !config.api_base.empty () ?
          config.api_base :
          endpoint.base + (endpoint.azure ? "/openai" : ""));
}

/* Elements of one call that set a property to different values: said once,
 * by the element that starts the call. */
static void warn_conflicts (BaseState *st,
    const std::vector<CallGroup::Conflict> &conflicts)
{
  for (const auto &c : conflicts) {
    const char *name = table ()[c.property].name;
    GST_WARNING_OBJECT (st->element,
        "%s: %s on %s, %s on %s; the call uses "
        "%s",
        name, c.used_value.c_str (), c.used_by.c_str (), c.other_value.c_str (),
        c.other.c_str (), c.used_value.c_str ());
    GST_ELEMENT_WARNING (st->element, LIBRARY, SETTINGS,
        ("The elements of one call set %s to different values: %s on %s, %s "
         "on %s; the call uses %s (the value set last)",
            name, c.used_value.c_str (), c.used_by.c_str (),
            c.other_value.c_str (), c.other.c_str (), c.used_value.c_str ()),
        (nullptr));
  }
}

/* The provider of the element's call, unless it has one: asked of the
 * application or the bin by the usual context query. */
static void find_provider (BaseState *st)
{
  bool have_provider;
  {
    std::lock_guard<std::mutex> l (st->lock);
    have_provider = st->provider != nullptr;
  }
  /* The standard context dance: an application or the bin (which keeps the
   * provider's have-context) answers need-context synchronously, through
   * set_context(). */
  if (!have_provider) {
    if (GstContext *ctx = gst_element_get_context (st->element,
            GST_EPHEMERAL_TOKEN_PROVIDER_CONTEXT)) {
      take_context (st, ctx);
      gst_context_unref (ctx);
    } else {
      gst_element_post_message (st->element,
          gst_message_new_need_context (GST_OBJECT (st->element),
              GST_EPHEMERAL_TOKEN_PROVIDER_CONTEXT));
    }
  }
}

/* READY→PAUSED: joins the call of the element's group; the first element to
 * get here starts it with the settings of every element merged. */
static void join (GstOpenAIRealtimeBase *self)
{
  BaseState *st = state_of (self);
  {
    std::lock_guard<std::mutex> l (st->lock);
    if (st->call)
      return;
  }
  find_provider (st);

  /* The session name may have changed in READY. */
  const std::string key = call_key (st->element, session_name (st));
  std::shared_ptr<CallGroup> group;
  {
    std::lock_guard<std::mutex> l (st->lock);
    group = st->group;
  }
  if (!group || group->key != key) {
    withdraw (st);
    enroll (st);
    std::lock_guard<std::mutex> l (st->lock);
    group = st->group;
  }

  auto reporter = std::make_shared<ElementReporter> (st->element, st->hooks,
      set_connection_state);
  std::vector<CallGroup::Conflict> conflicts;
  std::shared_ptr<rt::Call> call;
  std::shared_ptr<rt::CredentialSource> source;
  rt::CallSettings settings;
  {
    std::lock_guard<std::mutex> l (group->lock);
    call = group->call.lock ();
    if (!call) {
      CallConfig config = group->merge (&conflicts);
      source = credentials (st, config, &group->provider_session);
      settings = config.settings;
      settings.session = rt::merge_session (group->provider_session,
          config.settings.session);
      /* The one prepared in READY, if any (held by the group till now). */
      call = rt::Call::obtain (key);
      group->call = call;
      group->prepared.reset ();
    }
    call->add_observer (reporter,
        GST_OPENAI_REALTIME_BASE_GET_CLASS (self)->gives_output);
  }
  {
    std::lock_guard<std::mutex> l (st->lock);
    st->call = call;
    st->reporter = reporter;
  }
  if (source) {
    GST_DEBUG_OBJECT (self, "starting call %s", key.c_str ());
    warn_conflicts (st, conflicts);
    call->start (source, settings);
  } else {
    GST_DEBUG_OBJECT (self, "joined call %s", key.c_str ());
  }
}

/* The one token provider in the element's top-level bin, if there is
 * exactly one (a reference). */
static GstEphemeralTokenProvider *provider_in_pipeline (GstElement *element)
{
  GstElement *top = GST_ELEMENT (gst_object_ref (element));
  while (GstElement *parent = GST_ELEMENT (
             gst_object_get_parent (GST_OBJECT (top)))) {
    gst_object_unref (top);
    top = parent;
  }
  GstEphemeralTokenProvider *found = nullptr;
  int n = 0;
  if (GST_IS_BIN (top)) {
    GstIterator *it = gst_bin_iterate_recurse (GST_BIN (top));
    GValue item = G_VALUE_INIT;
    for (bool done = false; !done;) {
      switch (gst_iterator_next (it, &item)) {
        case GST_ITERATOR_OK: {
          auto *e = GST_ELEMENT (g_value_get_object (&item));
          if (GST_IS_EPHEMERAL_TOKEN_PROVIDER (e) && n++ == 0)
            found = GST_EPHEMERAL_TOKEN_PROVIDER (gst_object_ref (e));
          g_value_reset (&item);
          break;
        }
        case GST_ITERATOR_RESYNC: /* the bin changed: count again */
          gst_clear_object (&found);
          n = 0;
          gst_iterator_resync (it);
          break;
        default: done = true;
      }
    }
    g_value_unset (&item);
    gst_iterator_free (it);
  }
  gst_object_unref (top);
  if (n > 1 && found) {
    gst_object_unref (found);
    found = nullptr;
  }
  return found;
}

/* NULL→READY of a pipeline parked in READY: the group's call is prepared
 * with the settings of the elements enrolled so far (Call::prepare; the
 * call lets it go at PAUSED if the final settings want another), and the
 * element posts "openai-realtime-prepared" once it is. */
static void prepare (GstOpenAIRealtimeBase *self)
{
  BaseState *st = state_of (self);
  find_provider (st);
  /* A bin changes its sinks first: the provider beside them may not have
   * said where it is yet. The one in the pipeline is then taken for
   * preparing; PAUSED finds it the usual way, and lets what was prepared
   * go should that give other credentials. */
  GstEphemeralTokenProvider *found = nullptr;
  bool have_provider;
  {
    std::lock_guard<std::mutex> l (st->lock);
    have_provider = st->provider != nullptr;
  }
  if (!have_provider)
    found = provider_in_pipeline (st->element);
  std::shared_ptr<CallGroup> group;
  {
    std::lock_guard<std::mutex> l (st->lock);
    group = st->group;
  }
  if (!group) {
    if (found)
      gst_object_unref (found);
    return;
  }
  std::shared_ptr<rt::Call> call;
  std::shared_ptr<rt::CredentialSource> source;
  rt::CallSettings settings;
  {
    std::lock_guard<std::mutex> l (group->lock);
    if (group->call.lock ()) {
      if (found)
        gst_object_unref (found);
      return;
    }
    CallConfig config = group->merge ();
    /* Credentials the application has not chosen (the environment's key,
     * the local stand-in) are not used ahead: PAUSED may find others. */
    if (!have_provider && !found && config.client_secret.empty ())
      return;
    rt::SessionConfig provider_session;
    source = credentials (st, config, &provider_session, found);
    settings = config.settings;
    settings.session = rt::merge_session (provider_session,
        config.settings.session);
    if (!group->prepared)
      group->prepared = rt::Call::obtain (group->key);
    call = group->prepared;
  }
  if (found)
    gst_object_unref (found);
  /* Cleared however the callback ends: run, or let go unrun. */
  std::shared_ptr<GWeakRef> weak (new GWeakRef, [] (GWeakRef *w) {
    g_weak_ref_clear (w);
    delete w;
  });
  g_weak_ref_init (weak.get (), self);
  call->prepare (source, settings, [weak] (bool ok) {
    if (auto *element = static_cast<GstElement *> (
            g_weak_ref_get (weak.get ()))) {
      gst_element_post_message (element,
          gst_message_new_element (GST_OBJECT (element),
              gst_structure_new ("openai-realtime-prepared", "ok",
                  G_TYPE_BOOLEAN, ok, nullptr)));
      gst_object_unref (element);
    }
  });
}

/* PAUSED→READY: leaves the call; the last element to leave hangs up. */
static void leave (BaseState *st, bool notify)
{
  std::shared_ptr<rt::Call> call;
  std::shared_ptr<ElementReporter> reporter;
  {
    std::lock_guard<std::mutex> l (st->lock);
    call = std::move (st->call);
    reporter = std::move (st->reporter);
  }
  if (!call)
    return;
  if (reporter)
    call->remove_observer (reporter);
  /* If this was the last holder, the call hangs up here. */
  call.reset ();
  gint state;
  {
    std::lock_guard<std::mutex> l (st->lock);
    state = st->connection_state;
  }
  if (notify && state != (gint) rt::ConnectionState::Failed)
    set_connection_state (st->element, rt::ConnectionState::Closed);
}

/* The state the application asked of the whole pipeline (a bin takes its
 * children there one step at a time, each step their target). */
static GstState top_level_target (GstElement *element)
{
  GstElement *top = GST_ELEMENT (gst_object_ref (element));
  while (GstElement *parent = GST_ELEMENT (
             gst_object_get_parent (GST_OBJECT (top)))) {
    gst_object_unref (top);
    top = parent;
  }
  GST_OBJECT_LOCK (top);
  GstState target = GST_STATE_TARGET (top);
  GST_OBJECT_UNLOCK (top);
  gst_object_unref (top);
  return target;
}

static GstStateChangeReturn gst_openai_realtime_base_change_state (
    GstElement *element, GstStateChange transition)
{
  auto *self = GST_OPENAI_REALTIME_BASE (element);
  BaseState *st = state_of (self);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY) {
    /* An application that stops in READY prepares its call: what a fresh
     * process's first call would otherwise do after PLAYING (the
     * certificate, loading webrtcbin's plugins), started when the element
     * was made, is done by then. On its way to PLAYING the call goes on
     * meanwhile instead: it loads what it needs itself as it needs it.
     * Bounded: past it, the call waits for what it still needs. */
    const bool parked = top_level_target (element) == GST_STATE_READY;
    if (parked && !rt::await_prewarm (5000))
      GST_WARNING_OBJECT (self, "the call's plugins are still loading");
    enroll (st);
    if (parked)
      prepare (self);
  } else if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
    join (self);
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    leave (st, true);
  else if (transition == GST_STATE_CHANGE_READY_TO_NULL ||
      (transition == GST_STATE_CHANGE_NULL_TO_READY &&
          ret == GST_STATE_CHANGE_FAILURE))
    withdraw (st);
  return ret;
}

static void gst_openai_realtime_base_set_context (GstElement *element,
    GstContext *context)
{
  take_context (state_of (element), context);
  GST_ELEMENT_CLASS (parent_class)->set_context (element, context);
}

/* The GObject */

static void gst_openai_realtime_base_finalize (GObject *object)
{
  BaseState *st = state_of (object);
  leave (st, false);
  withdraw (st);
  if (st->provider)
    gst_object_unref (st->provider);
  delete st;
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void gst_openai_realtime_base_init (GstOpenAIRealtimeBase *self)
{
  auto *priv = static_cast<GstOpenAIRealtimeBasePrivate *> (
      gst_openai_realtime_base_get_instance_private (self));
  priv->state = new BaseState (GST_ELEMENT (self));
  /* As early as an element exists: a call starts right after. */
  rt::prewarm_webrtc ();
}

static void gst_openai_realtime_base_class_init (
    GstOpenAIRealtimeBaseClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  gobject_class->set_property = gst_openai_realtime_base_set_property;
  gobject_class->get_property = gst_openai_realtime_base_get_property;
  gobject_class->finalize = gst_openai_realtime_base_finalize;
  element_class->change_state = gst_openai_realtime_base_change_state;
  element_class->set_context = gst_openai_realtime_base_set_context;
  callprops::install (gobject_class);
  gst_openai_realtime_base_install_signals (G_TYPE_FROM_CLASS (klass));
  gst_type_mark_as_plugin_api (GST_TYPE_OPENAI_REALTIME_BASE,
      (GstPluginAPIFlags) 0);
}
