/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "call_manager.h"

#include "json_util.h"
#include "main_thread.h"
#include "sdp_util.h"

namespace rts {

CallManager::CallManager (const Options &options, ControlLog &log)
    : options_ (options), log_ (log), synth_ (SpeechSynth::create (options)),
      // Minimal media decodes nothing, so there is nothing to recognise.
      recogniser_ (options.media == MediaMode::Full &&
                  options.recognition != Recognition::Off ?
              Recogniser::create () :
              nullptr),
      strict_ice_ (options.strict_ice)
{
}

CallManager::~CallManager ()
{
  end_all ();
}

bool CallManager::load_recogniser (unsigned timeout_s)
{
  if (!recogniser_)
    return true;
  if (recogniser_->load_now (gint64 (timeout_s) * G_USEC_PER_SEC))
    return true;
  g_warning ("the speech recogniser is not ready after %u s: turns until it "
             "is get no words",
      timeout_s);
  return false;
}

void CallManager::start_call (const std::string &offer_text,
    const Session &session, Flavor flavor, bool webrtc_filter,
    gint64 request_start_us, Done done)
{
  OfferInfo info;
  std::string error;
  GstSDPMessage *offer = parse_offer (offer_text, &info, &error);
  if (!offer) {
    done (HttpReply { 400, "application/json",
        error_body (error, "invalid_request_error", "invalid_offer"), "", -1,
        "" });
    return;
  }

  std::string id = "rtc_" + random_hex (12);
  if (info.removed_candidates > 0)
    g_debug ("call %s: %d offered candidate(s) withheld from webrtcbin",
        id.c_str (), info.removed_candidates);
  auto call = std::make_unique<Call> (id, options_, session,
      log_.add_call (id, flavor, webrtc_filter), *synth_, recogniser_.get (),
      strict_ice_, [this] (const std::string &id) { forget_later (id); });
  Call *raw = call.get ();
  calls_[id] = std::move (call);
  const std::string location = std::string (
                                   flavor == Flavor::Azure ? "/openai" : "") +
      "/v1/realtime/calls/" + id;
  raw->start (offer, info.opus_pt, request_start_us,
      [done, id, location] (unsigned status, const std::string &text) {
        if (status == 201) {
          done (HttpReply { 201, "application/sdp", text, location, -1, id });
        } else {
          const char *code = status == 400 ? "invalid_offer" : nullptr;
          const char *type = status == 400 ? "invalid_request_error" :
                                             "server_error";
          done (HttpReply { status, "application/json",
              error_body (text, type, code), "", -1, "" });
        }
      });
}

// Called from inside the call's own answer callback: the call goes once that has returned.
void CallManager::abandon (const std::string &id)
{
  server_worker ().post ([this, id] () {
    auto it = calls_.find (id);
    if (it == calls_.end ())
      return;
    g_message ("call %s: the answer could not be delivered", id.c_str ());
    it->second->end ("dropped", Call::Teardown::Quiet);
    calls_.erase (it);
  });
}

void CallManager::answer_delivered (const std::string &id)
{
  auto it = calls_.find (id);
  if (it != calls_.end ())
    it->second->answer_delivered ();
}

HttpReply CallManager::hangup (const std::string &id, Flavor flavor)
{
  std::shared_ptr<CallRecord> record = log_.find_call (id);
  auto it = calls_.find (id);
  // OpenAI and Azure OpenAI are separate services: neither knows the other's calls.
  if (record && record->flavor != flavor)
    record = nullptr;
  if (it != calls_.end () && it->second->flavor () != flavor)
    it = calls_.end ();
  if (it == calls_.end () && !record) {
    return HttpReply { 404, "application/json",
      error_body ("Call '" + id + "' not found.", "invalid_request_error",
          "call_not_found"),
      "", -1, "" };
  }
  if (record)
    record->hangup = true;
  if (it != calls_.end ()) {
    it->second->end ("hungup", Call::Teardown::Close);
    calls_.erase (it);
  }
  return HttpReply { 200, "", "", "", -1, "" };
}

void CallManager::drop_all ()
{
  // Silenced calls are already dropped; they go when their peer timeout says so.
  for (auto it = calls_.begin (); it != calls_.end ();) {
    if (it->second->silenced ()) {
      ++it;
      continue;
    }
    it->second->end ("dropped", Call::Teardown::Close);
    it = calls_.erase (it);
  }
}

void CallManager::silence_all ()
{
  for (auto &entry : calls_)
    entry.second->silence ();
}

void CallManager::expire_all ()
{
  for (auto &entry : calls_)
    entry.second->expire ();
}

void CallManager::set_strict_ice (StrictIce strict)
{
  strict_ice_ = strict;
  for (auto &entry : calls_)
    entry.second->set_strict_ice (strict);
}

void CallManager::broadcast (const std::vector<std::string> &pieces)
{
  for (auto &entry : calls_) {
    if (entry.second->silenced ())
      continue;
    for (const std::string &piece : pieces)
      entry.second->send_raw (piece);
  }
}

void CallManager::end_all ()
{
  for (auto &entry : calls_)
    entry.second->end ("hungup", Call::Teardown::Close);
  calls_.clear ();
}

// A call that ended by itself is inside its own method: destroy it once that has returned.
void CallManager::forget_later (const std::string &id)
{
  server_worker ().post ([this, id] () {
    auto it = calls_.find (id);
    if (it != calls_.end () && it->second->ended ())
      calls_.erase (it);
  });
}

}  // namespace rts
