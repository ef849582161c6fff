/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Keeping secrets out of logs.
 *
 * The permanent API key must not appear in any GStreamer log line, at any
 * GST_DEBUG level. GStreamer core itself logs property values when
 * gst-launch-1.0 sets them, before an element sees the value, so the only
 * reliable place to redact is the log function: install_log_redaction()
 * replaces GStreamer's default log function with one that formats the line the
 * same way, masks every registered secret (and values logged for properties
 * named in kSecretProperties), and writes it where the default one would. */
#pragma once

#include <string>

namespace rt {

/* Registers a secret so that every later log line masks it. Thread-safe;
 * secrets shorter than 6 characters are ignored (they would mask noise). */
void register_secret (const std::string &secret);

/* Returns text with every registered secret replaced by a mask that keeps a
 * short, non-identifying prefix (e.g. "sk-…[redacted]"). */
std::string redact (const std::string &text);

/* A short, loggable description of a secret: its prefix and length. */
std::string describe_secret (const std::string &secret);

/* Installs the redacting log function once per process (idempotent). */
void install_log_redaction ();

}  // namespace rt
