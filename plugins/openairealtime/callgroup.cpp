/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "callgroup.h"

#include <algorithm>
#include <atomic>
#include <map>

namespace {

std::mutex registry_lock;
std::map<std::string, std::shared_ptr<CallGroup>>
    registry; /* under registry_lock */

}  // namespace

std::shared_ptr<CallGroup> CallGroup::enroll (const std::string &key,
    CallMember *member)
{
  std::lock_guard<std::mutex> r (registry_lock);
  auto &group = registry[key];
  if (!group)
    group = std::make_shared<CallGroup> (key);
  std::lock_guard<std::mutex> l (group->lock);
  group->members.push_back (member);
  return group;
}

void CallGroup::withdraw (const std::shared_ptr<CallGroup> &group,
    CallMember *member)
{
  /* The registry's lock first, as in enroll(): a group is never handed out
   * while it is being emptied. */
  std::lock_guard<std::mutex> r (registry_lock);
  std::lock_guard<std::mutex> l (group->lock);
  auto &m = group->members;
  m.erase (std::remove (m.begin (), m.end (), member), m.end ());
  auto it = registry.find (group->key);
  if (m.empty () && it != registry.end () && it->second == group)
    registry.erase (it);
}

callprops::CallConfig CallGroup::merge (std::vector<Conflict> *conflicts)
{
  using namespace callprops;
  std::vector<std::pair<std::string, Values>> all;
  for (CallMember *m : members)
    all.emplace_back (m->name (), m->values ());
  CallConfig config;
  for (guint i = 0; i < table_size (); i++) {
    const Property &p = table ()[i];
    if (!p.apply)
      continue;
    const std::pair<std::string, Values> *last = nullptr;
    for (const auto &member : all)
      if (member.second.set_at (i) &&
          (!last || member.second.set_at (i) > last->second.set_at (i)))
        last = &member;
    if (!last)
      continue;
    const GValue *used = last->second.get (i);
    p.apply (used, config);
    for (const auto &member : all) {
      if (!conflicts || &member == last || !member.second.set_at (i) ||
          !g_param_values_cmp (pspec (i), used, member.second.get (i)))
        continue;
      conflicts->push_back ({ i, last->first, describe (i, used), member.first,
          describe (i, member.second.get (i)) });
    }
  }
  return config;
}

std::string call_key (GstElement *element, const std::string &session)
{
  static GQuark serial_quark = g_quark_from_static_string (
      "openairealtime-serial");
  static std::atomic<guint64> next_serial { 1 };
  GstObject *top = GST_OBJECT (element);
  while (GST_OBJECT_PARENT (top))
    top = GST_OBJECT_PARENT (top);
  GST_OBJECT_LOCK (top);
  auto serial = GPOINTER_TO_SIZE (
      g_object_get_qdata (G_OBJECT (top), serial_quark));
  if (!serial) {
    serial = next_serial++;
    g_object_set_qdata (G_OBJECT (top), serial_quark,
        GSIZE_TO_POINTER (serial));
  }
  GST_OBJECT_UNLOCK (top);
  return std::to_string (serial) + "/" +
      (session.empty () ? "default" : session);
}
