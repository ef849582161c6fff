#include "openai_http.h"

#include "../answer.h"
#include "../debug.h"
#include "../supervision.h"

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

void OpenAIHttpSignaller::exchange (HttpClient &http,
    const Credentials &credentials, const std::string &offer_sdp,
    std::function<void (Answer)> done)
{
  HttpRequest req;
  /* GA: the model travels inside the secret; "?model=" gets an empty 400. */
  req.url = credentials.api_base + "/calls";
  req.content_type = "application/sdp";
  req.body = offer_sdp;
  req.headers.emplace_back ("Authorization", "Bearer " + credentials.secret);
  GST_DEBUG ("posting a %zu-byte offer to %s", offer_sdp.size (), req.url.c_str ());
  http.post (std::move (req), [done] (HttpResponse resp) {
    Answer a;
    if (resp.status == 0) {
      a.error.message = resp.transport_error;
      a.error.tls_failure = resp.tls_failure;
    } else if (resp.status != 201 && resp.status != 200) {
      /* Checked before the body is read as SDP: error bodies are JSON. */
      a.error = parse_error_body (resp.status, resp.body);
      a.error.retry_after_s = parse_retry_after (resp.retry_after);
    } else {
      AnswerCheck check = check_answer_sdp (resp.body);
      if (!check.usable) {
        a.error.http_status = resp.status;
        a.error.message = check.problem;
        /* What the server claimed it sent helps when it sent something else. */
        if (!check.is_sdp)
          a.error.message += " (Content-Type '" + resp.content_type + "', " +
              std::to_string (resp.body.size ()) + " bytes)";
      } else {
        a.ok = true;
        a.sdp = resp.body;
        a.call_id = call_id_from_location (resp.location);
      }
    }
    done (std::move (a));
  });
}

void OpenAIHttpSignaller::hangup (HttpClient &http,
    const Credentials &credentials, const std::string &call_id,
    std::function<void ()> done)
{
  if (call_id.empty ()) {
    done ();
    return;
  }
  HttpRequest req;
  req.url = credentials.api_base + "/calls/" + call_id + "/hangup";
  req.headers.emplace_back ("Authorization", "Bearer " + credentials.secret);
  http.post (std::move (req), [done, call_id] (HttpResponse resp) {
    if (resp.status == 200 || resp.status == 204)
      GST_DEBUG ("hung up call %s", call_id.c_str ());
    else
      GST_WARNING ("hangup of call %s: %s", call_id.c_str (),
          resp.status ? ("HTTP " + std::to_string (resp.status)).c_str () :
          resp.transport_error.c_str ());
    done ();
  });
}

}  // namespace rt
