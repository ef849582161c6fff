#include "call_manager.h"

#include "json_util.h"
#include "main_thread.h"
#include "sdp_util.h"

namespace rts {

CallManager::CallManager(const Options &options, ControlLog &log)
    : options_(options), log_(log), synth_(SpeechSynth::create(options)) {}

CallManager::~CallManager() { end_all(); }

void CallManager::start_call(const std::string &offer_text, const Session &session,
                             gint64 request_start_us, Done done) {
  OfferInfo info;
  std::string error;
  GstSDPMessage *offer = parse_offer(offer_text, options_.address, &info, &error);
  if (!offer) {
    done(HttpReply{400, "application/json",
                   error_body(error, "invalid_request_error", "invalid_offer"), ""});
    return;
  }
  if (info.dropped_candidates > 0)
    g_message("ignoring %d offered candidate(s) not on this host", info.dropped_candidates);

  std::string id = "rtc_" + random_hex(12);
  auto call = std::make_unique<Call>(id, options_, session, log_.add_call(id), *synth_,
                                     [this](const std::string &id) { forget_later(id); });
  Call *raw = call.get();
  calls_[id] = std::move(call);
  raw->start(offer, info.opus_pt, request_start_us,
             [done, id](unsigned status, const std::string &text) {
               if (status == 201) {
                 done(HttpReply{201, "application/sdp", text, "/v1/realtime/calls/" + id});
               } else {
                 const char *code = status == 400 ? "invalid_offer" : nullptr;
                 const char *type = status == 400 ? "invalid_request_error" : "server_error";
                 done(HttpReply{status, "application/json", error_body(text, type, code), ""});
               }
             });
}

HttpReply CallManager::hangup(const std::string &id) {
  std::shared_ptr<CallRecord> record = log_.find_call(id);
  auto it = calls_.find(id);
  if (it == calls_.end() && !record) {
    return HttpReply{404, "application/json",
                     error_body("Call '" + id + "' not found.", "invalid_request_error",
                                "call_not_found"),
                     ""};
  }
  if (record) record->hangup = true;
  if (it != calls_.end()) {
    it->second->end("hungup", Call::Teardown::Graceful);
    calls_.erase(it);
  }
  return HttpReply{200, "", "", ""};
}

void CallManager::drop_all() {
  for (auto &entry : calls_) entry.second->end("dropped", Call::Teardown::Abrupt);
  calls_.clear();
}

void CallManager::broadcast(const std::string &text) {
  for (auto &entry : calls_) entry.second->send_raw(text);
}

void CallManager::end_all() {
  for (auto &entry : calls_) entry.second->end("hungup", Call::Teardown::Graceful);
  calls_.clear();
}

// A call that ended by itself is inside its own method: destroy it once that has returned.
void CallManager::forget_later(const std::string &id) {
  run_on_main([this, id]() {
    auto it = calls_.find(id);
    if (it != calls_.end() && it->second->ended()) calls_.erase(it);
  });
}

}  // namespace rts
