/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The elements of one call, found by a key (the top-level bin and the
 * session name). Elements enroll when they go to READY, so that the one that
 * starts the call (the first to reach PAUSED) can merge the settings of all
 * of them: a property set on any element reaches the call. */
#pragma once

#include "callproperties.h"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

/* An element of a call, as the group sees it. */
class CallMember {
 public:
  virtual ~CallMember () = default;
  /* The element's name and its values, copied under its own lock. */
  virtual std::string name () const = 0;
  virtual callprops::Values values () const = 0;
};

struct CallGroup {
  const std::string key;
  std::mutex lock;
  std::vector<CallMember *> members; /* under lock; in order of enrolment */
  std::weak_ptr<rt::Call> call;      /* under lock: the call, once started */
  /* Under lock: the call prepared in READY, held until it starts. */
  std::shared_ptr<rt::Call> prepared;
  rt::SessionConfig provider_session; /* under lock: the starter's provider's */

  explicit CallGroup (std::string k) : key (std::move (k)) {}

  static std::shared_ptr<CallGroup> enroll (const std::string &key,
      CallMember *member);
  static void withdraw (const std::shared_ptr<CallGroup> &group,
      CallMember *member);

  /* Two elements that set a property to different values. */
  struct Conflict {
    guint property;                  /* table index */
    std::string used_by, used_value; /* the value set last: the one used */
    std::string other, other_value;
  };

  /* The settings of every member merged (under lock): each property set on
   * some element takes the value set last, the rest their defaults.
   * Conflicts, when wanted, list the properties set to different values. */
  callprops::CallConfig merge (std::vector<Conflict> *conflicts = nullptr);
};

/* The key of an element's call: its outermost bin (by a serial number of
 * its own: an address may be reused by a later pipeline while a call of the
 * old one is still held) and the session name. */
std::string call_key (GstElement *element, const std::string &session);
