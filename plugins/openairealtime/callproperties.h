/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The properties that openairealtimesink and openairealtimesrc share,
 * described once: name, nick, blurb, type, range, default, when a change
 * takes effect, and where each value goes in the call's settings
 * (rt::CallSettings, rt::SessionConfig). GstOpenAIRealtimeBase installs,
 * sets, gets and merges them from this table alone. */
#pragma once

#include "call.h"

#include <gst/gst.h>

#include <string>
#include <vector>

GType gst_openai_realtime_connection_state_get_type (void);
#define GST_TYPE_OPENAI_REALTIME_CONNECTION_STATE                              \
  (gst_openai_realtime_connection_state_get_type ())
GType gst_openai_realtime_turn_detection_get_type (void);
GType gst_openai_realtime_eagerness_get_type (void);
GType gst_openai_realtime_noise_reduction_get_type (void);
GType gst_openai_realtime_modality_get_type (void);

namespace callprops {

/* What a call is made with, built from the properties of its elements. */
struct CallConfig {
  rt::CallSettings settings; /* the session and latency included */
  std::string client_secret;
  std::string api_base; /* empty: the provider's */
};

enum class Kind { String, Uint, Int, Double, Boolean, Enum, Uint64, Boxed };

enum class Scope {
  Key,     /* names the call (session): never merged */
  Start,   /* read when the call starts (changeable up to READY) */
  Secret,  /* as Start, write-only, its value never shown */
  Session, /* the session: also sent to a running call when changed */
  Status,  /* read-only, from the element's call */
};

struct Property {
  const char *name;
  const char *nick;
  const char *blurb;
  Kind kind;
  Scope scope;
  double min, max, def;    /* Uint, Int, Double; def also Boolean, Enum */
  const char *def_string;  /* String */
  GType (*type) ();        /* Enum, Boxed */
  unsigned session_fields; /* Session: the rt::SessionField groups it changes */
  /* Checks a value being set and may normalise it; false, with *warning,
   * refuses it (the property keeps its value). nullptr: any value. */
  bool (*check) (GValue *value, std::string *warning);
  /* Puts an explicitly set value where the call takes it. */
  void (*apply) (const GValue *value, CallConfig &config);
};

/* The table; property ids are index + 1. */
const Property *table ();
guint table_size ();

/* Installs every property of the table on klass (from class_init), with
 * ids from 1. */
void install (GObjectClass *klass);

/* The index of the entry named name (one of the table's). */
guint index (const char *name);

/* The pspec installed for entry i. */
GParamSpec *pspec (guint i);

/* A value as a warning shows it: strings quoted, enums by nick, secrets
 * hidden. */
std::string describe (guint i, const GValue *value);

/* One element's values of the table's entries, each at its default until
 * set, with when the user last set it (a process-wide sequence number, 0:
 * never): across the elements of a call, the value set last wins. */
class Values {
 public:
  Values ();
  Values (const Values &other);
  Values &operator= (const Values &other);
  ~Values ();

  const GValue *get (guint i) const { return &values_[i]; }
  guint64 set_at (guint i) const { return set_at_[i]; }
  void set (guint i, const GValue *value);
  /* Puts back a value and its stamp (a change the call refused). */
  void restore (guint i, const GValue *value, guint64 set_at);

 private:
  void copy_from (const Values &other);
  void clear ();
  std::vector<GValue> values_;
  std::vector<guint64> set_at_;
};

}  // namespace callprops
