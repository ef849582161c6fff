/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "signalling/openai_http.h"

#include "core/debug.h"
#include "openai/answer.h"
#include "supervision.h"
#include "webrtc/sdp.h"

#define GST_CAT_DEFAULT rt_signalling_debug

namespace rt {

std::string call_id_from_location (const std::string &location)
{
  std::string path = location.substr (0, location.find_first_of ("?#"));
  while (!path.empty () && path.back () == '/')
    path.pop_back ();
  auto slash = path.rfind ('/');
  std::string id = slash == std::string::npos ? path : path.substr (slash + 1);
  /* The id goes back into the hangup URL as one path segment: a dot
   * segment, an escape or a reserved character would point it elsewhere,
   * so such an id is no id (and the call is not hung up by URL). */
  if (id == "." || id == "..")
    return {};
  for (char c : id)
    if (!g_ascii_isalnum (c) && c != '-' && c != '_' && c != '.' && c != '~')
      return {};
  return id;
}

struct OpenAIHttpSignaller::Session {
  std::string id;
  Credentials credentials;
  bool have_credentials = false;
  std::string offer; /* waiting for the secret */
  bool posted = false;
  std::string call_id; /* once answered */
  bool ended = false;
};

OpenAIHttpSignaller::OpenAIHttpSignaller (Worker &worker,
    std::shared_ptr<CredentialSource> credentials, unsigned http_timeout_s)
    : worker_ (worker), credentials_ (std::move (credentials)),
      http_worker_ (shared_http_worker ())
{
  /* A SoupSession belongs to the thread it is made on. */
  http_worker_->run_sync ([this, http_timeout_s] {
    http_ = std::make_unique<HttpClient> (*http_worker_, http_timeout_s);
  });
}

OpenAIHttpSignaller::~OpenAIHttpSignaller ()
{
  /* Requests cancelled by the client's end answer into nothing. */
  *alive_ = false;
  http_worker_->run_sync ([this] { http_.reset (); });
}

template <typename Result>
std::function<void (Result)> OpenAIHttpSignaller::back_here (
    std::function<void (Result)> fn, bool always)
{
  Worker *worker = &worker_;
  std::weak_ptr<bool> alive = alive_;
  /* worker_ outlives every answer: the client, and with it what it has in
   * flight, is gone before this signaller is. */
  return [worker, alive, always, fn] (Result r) {
    worker->post ([alive, always, fn, r = std::move (r)] () mutable {
      auto a = alive.lock ();
      if (always || (a && *a))
        fn (std::move (r));
    });
  };
}

SignallerCapabilities OpenAIHttpSignaller::capabilities () const
{
  SignallerCapabilities caps;
  caps.far_end_local = is_loopback_url (credentials_->api_base ());
  return caps;
}

std::map<std::string, guint64> OpenAIHttpSignaller::counters () const
{
  return { { "secrets", secrets_ } };
}

void OpenAIHttpSignaller::start ()
{
  auto s = std::make_shared<Session> ();
  s->id = std::to_string (++next_id_);
  session_ = s;
  /* Minting and the offer go on at the same time: each takes a round of
   * work the other does not need. */
  std::weak_ptr<bool> alive = alive_;
  worker_.post ([this, alive, s] {
    auto a = alive.lock ();
    if (a && *a && current (s) && !s->ended)
      emit_session_requested (s->id, std::nullopt);
  });
  auto minted = back_here<CredentialsResult> ([this, s] (CredentialsResult r) {
    if (!current (s) || s->ended)
      return;
    if (!r.ok) {
      s->ended = true;
      emit_session_ended (s->id, classify_http_failure (r.error));
      return;
    }
    s->credentials = r.credentials;
    s->have_credentials = true;
    secrets_++;
    post_offer (s);
  });
  if (take_spare (minted))
    return;
  HttpClient *http = http_.get ();
  http_worker_->post ([http, credentials = credentials_, minted] {
    credentials->fetch (*http, minted);
  });
}

void OpenAIHttpSignaller::prepare (std::function<void ()> ready)
{
  if (spare_.pending) {
    spare_.ready.push_back (std::move (ready));
    return;
  }
  if (session_ || spare_.result) {
    ready ();
    return;
  }
  spare_.pending = true;
  spare_.fingerprint = credentials_->fingerprint ();
  spare_.ready.push_back (std::move (ready));
  const unsigned generation = ++spare_generation_;
  /* Kept as it was asked for: settings changed meanwhile make it unfit. */
  const std::string asked_for = spare_.fingerprint;
  auto fetched = back_here<CredentialsResult> (
      [this, generation, asked_for] (CredentialsResult r) {
        if (generation != spare_generation_)
          return;
        auto ready = std::move (spare_.ready);
        auto waiter = std::move (spare_.waiter);
        spare_ = Spare ();
        if (waiter) {
          waiter (std::move (r));
        } else if (r.ok) {
          spare_.result = std::move (r);
          spare_.fingerprint = asked_for;
          spare_.fetched_us = g_get_monotonic_time ();
          spare_.fetched_real_s = g_get_real_time () / G_USEC_PER_SEC;
        } else {
          /* The session's own fetch will meet the same and say it. */
          GST_DEBUG ("no secret ahead: %s", r.error.describe ().c_str ());
        }
        for (auto &fn : ready)
          fn ();
      });
  HttpClient *http = http_.get ();
  http_worker_->post ([http, credentials = credentials_, fetched] {
    credentials->fetch (*http, fetched);
  });
}

bool OpenAIHttpSignaller::take_spare (
    const std::function<void (CredentialsResult)> &minted)
{
  if (!spare_.pending && !spare_.result)
    return false;
  const bool same = spare_.fingerprint == credentials_->fingerprint ();
  if (same && spare_.pending) {
    spare_.waiter = minted;
    return true;
  }
  Spare spare = std::move (spare_);
  spare_ = Spare ();
  spare_generation_++; /* one still on its way answers into nothing */
  for (auto &fn : spare.ready)
    fn ();
  if (!same || !spare.result) {
    GST_DEBUG ("the secret minted ahead was for other settings");
    return false;
  }
  /* Used while at least half its life is left (a secret only starts a
   * call; the call outlives it). Its life is read against the service's
   * clock once, then counted on ours. */
  const gint64 expires = spare.result->credentials.expires_at;
  if (expires > 0) {
    const gint64 life = CLAMP (expires - spare.fetched_real_s, 10, 7200);
    const gint64 age = (g_get_monotonic_time () - spare.fetched_us) /
        G_USEC_PER_SEC;
    if (age * 2 > life) {
      GST_DEBUG ("the secret minted ahead is %" G_GINT64_FORMAT
                 " s old, past half its life: minting another",
          age);
      return false;
    }
  }
  minted (std::move (*spare.result));
  return true;
}

void OpenAIHttpSignaller::send_candidate (const std::string &session,
    unsigned mline, const std::string &candidate)
{
  /* No trickle: a candidate gathered before the offer leaves goes in it. */
  if (!session_ || session_->id != session || session_->posted ||
      session_->offer.empty () || candidate.empty () ||
      session_->offer.find (candidate) != std::string::npos)
    return;
  session_->offer = sdp_with_candidates (session_->offer, { candidate });
}

void OpenAIHttpSignaller::send_description (const std::string &session,
    const SessionDescription &description)
{
  if (!session_ || session_->id != session || session_->ended ||
      description.type != GST_WEBRTC_SDP_TYPE_OFFER)
    return;
  session_->offer = description.sdp;
  post_offer (session_);
}

void OpenAIHttpSignaller::post_offer (const std::shared_ptr<Session> &s)
{
  if (s->posted || !s->have_credentials || s->offer.empty ())
    return;
  s->posted = true;
  HttpRequest req;
  /* GA: the model travels inside the secret; "?model=" gets an empty 400. */
  req.url = s->credentials.api_base + "/calls";
  req.content_type = "application/sdp";
  req.body = s->offer;
  req.headers.emplace_back ("Authorization", "Bearer " + s->credentials.secret);
  GST_DEBUG ("posting a %zu-byte offer to %s", s->offer.size (),
      req.url.c_str ());
  auto answered = back_here<HttpResponse> ([this, s] (HttpResponse resp) {
    if (!current (s) || s->ended) {
      /* Given up on while the answer was on its way: the call may be up
       * at the service all the same. */
      if (resp.status == 201 || resp.status == 200) {
        s->call_id = call_id_from_location (resp.location);
        hangup (s, [] {});
      }
      return;
    }
    ServiceError error;
    if (resp.status == 0) {
      error.message = resp.transport_error;
      error.tls_failure = resp.tls_failure;
    } else if (resp.status != 201 && resp.status != 200) {
      /* Checked before the body is read as SDP: error bodies are JSON. */
      error = parse_error_body (resp.status, resp.body);
      error.retry_after_s = parse_retry_after (resp.retry_after);
    } else {
      AnswerCheck check = check_answer_sdp (resp.body);
      if (check.usable) {
        s->call_id = call_id_from_location (resp.location);
        emit_remote_description (s->id,
            SessionDescription { GST_WEBRTC_SDP_TYPE_ANSWER, resp.body },
            s->call_id);
        return;
      }
      error.http_status = resp.status;
      error.message = check.problem;
      /* What the server claimed it sent helps when it sent something else. */
      if (!check.is_sdp)
        error.message += " (Content-Type '" + resp.content_type + "', " +
            std::to_string (resp.body.size ()) + " bytes)";
    }
    s->ended = true;
    emit_session_ended (s->id, classify_http_failure (error));
  });
  in_http (std::move (req), std::move (answered));
}

void OpenAIHttpSignaller::hangup (const std::shared_ptr<Session> &s,
    std::function<void ()> done)
{
  s->ended = true;
  if (s->call_id.empty () || !s->have_credentials) {
    done ();
    return;
  }
  HttpRequest req;
  req.url = s->credentials.api_base + "/calls/" + s->call_id + "/hangup";
  req.headers.emplace_back ("Authorization", "Bearer " + s->credentials.secret);
  const std::string call_id = s->call_id;
  /* Always: done is the owner's, and may wait for it past this signaller. */
  in_http (std::move (req),
      back_here<HttpResponse> (
          [done, call_id] (HttpResponse resp) {
            if (resp.status == 200 || resp.status == 204)
              GST_DEBUG ("hung up call %s", call_id.c_str ());
            else
              GST_WARNING ("hangup of call %s: %s", call_id.c_str (),
                  resp.status ?
                      ("HTTP " + std::to_string (resp.status)).c_str () :
                      resp.transport_error.c_str ());
            done ();
          },
          true));
}

void OpenAIHttpSignaller::in_http (HttpRequest req,
    std::function<void (HttpResponse)> answered)
{
  HttpClient *http = http_.get ();
  http_worker_->post ([http, req = std::move (req),
                          answered = std::move (answered)] () mutable {
    http->post (std::move (req), std::move (answered));
  });
}

void OpenAIHttpSignaller::end_session (const std::string &session)
{
  if (session_ && session_->id == session)
    hangup (session_, [] {});
}

void OpenAIHttpSignaller::stop (std::function<void ()> done)
{
  if (!session_ || session_->ended) {
    done ();
    return;
  }
  hangup (session_, std::move (done));
}

}  // namespace rt
