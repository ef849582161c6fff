/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "signalling/sip/session_sdp.h"

#include <sstream>

namespace rt::sip {

namespace {

bool is_direction (const std::string &line)
{
  return line == "a=sendrecv" || line == "a=sendonly" || line == "a=recvonly" ||
      line == "a=inactive";
}

}  // namespace

std::vector<std::string> sdp_lines (const std::string &sdp)
{
  std::vector<std::string> out;
  std::istringstream in (sdp);
  for (std::string line; std::getline (in, line);) {
    if (!line.empty () && line.back () == '\r')
      line.pop_back ();
    out.push_back (line);
  }
  return out;
}

std::string sdp_direction (const std::string &sdp)
{
  std::string session = "sendrecv";
  bool in_audio = false, seen_media = false;
  for (const std::string &line : sdp_lines (sdp)) {
    if (line.rfind ("m=", 0) == 0) {
      if (in_audio)
        break;
      in_audio = line.rfind ("m=audio", 0) == 0;
      seen_media = true;
      continue;
    }
    if (!is_direction (line))
      continue;
    if (!seen_media)
      session = line.substr (2);
    else if (in_audio)
      return line.substr (2);
  }
  return session;
}

std::string sdp_with_direction (const std::string &sdp, const std::string &dir,
    unsigned version)
{
  std::string out;
  bool in_media = false;
  auto close_section = [&] {
    if (in_media)
      out += "a=" + dir + "\r\n";
  };
  for (const std::string &line : sdp_lines (sdp)) {
    if (line.empty () || is_direction (line))
      continue;
    if (line.rfind ("m=", 0) == 0) {
      close_section ();
      in_media = true;
    }
    if (line.rfind ("o=", 0) == 0) {
      /* o=<user> <sess-id> <version> <nettype> <addrtype> <address> */
      std::istringstream f (line.substr (2));
      std::vector<std::string> fields;
      for (std::string w; f >> w;)
        fields.push_back (w);
      if (fields.size () == 6) {
        fields[2] = std::to_string (version);
        std::string o = "o=";
        for (size_t i = 0; i < fields.size (); i++)
          o += (i ? " " : "") + fields[i];
        out += o + "\r\n";
        continue;
      }
    }
    out += line + "\r\n";
  }
  close_section ();
  return out;
}

std::string answer_direction (const std::string &offered, bool hold_here)
{
  if (offered == "inactive")
    return "inactive";
  if (offered == "sendonly")
    return hold_here ? "inactive" : "recvonly";
  if (offered == "recvonly")
    return "sendonly";
  return hold_here ? "sendonly" : "sendrecv";
}

}  // namespace rt::sip
