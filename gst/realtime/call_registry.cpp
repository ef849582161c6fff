/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The calls of a process by key (elements of one call find it there) and
 * the observers of a call. */
#include "call.h"

#include <algorithm>
#include <map>

namespace rt {

namespace {

std::mutex registry_lock;
std::map<std::string, std::weak_ptr<Call>> registry;

}  // namespace

std::shared_ptr<Call> Call::obtain (const std::string &key)
{
  std::lock_guard<std::mutex> l (registry_lock);
  auto &slot = registry[key];
  if (auto existing = slot.lock ())
    return existing;
  auto call = std::make_shared<Call> (key);
  slot = call;
  for (auto it = registry.begin (); it != registry.end ();)
    it = it->second.expired () ? registry.erase (it) : std::next (it);
  return call;
}

void ObserverSet::add (std::shared_ptr<CallObserver> observer, bool primary)
{
  std::lock_guard<std::mutex> l (lock_);
  if (primary && !primary_)
    primary_ = observer;
  observers_.push_back (std::move (observer));
}

void ObserverSet::remove (const std::shared_ptr<CallObserver> &observer)
{
  std::lock_guard<std::mutex> l (lock_);
  observers_.erase (
      std::remove (observers_.begin (), observers_.end (), observer),
      observers_.end ());
  if (primary_ == observer)
    primary_ = nullptr;
}

std::vector<std::shared_ptr<CallObserver>> ObserverSet::snapshot () const
{
  std::lock_guard<std::mutex> l (lock_);
  return observers_;
}

}  // namespace rt
