/* SPDX-License-Identifier: LGPL-2.1-or-later */
// Small helpers over json-glib and id generation.
#pragma once

#include "core/json_util.h"

#include <json-glib/json-glib.h>

#include <string>

namespace rts {

// Random lowercase hex of 2*bytes characters, from the OS entropy source.
std::string random_hex (size_t bytes);

// An id shaped like the service's: prefix + "_" + 22 alphanumeric characters.
std::string make_id (const char *prefix);

// Parse text; on failure returns nullptr and sets *error. The caller owns the node.
JsonNode *parse_json (const std::string &text, std::string *error);

// Parse text that must hold a JSON object; the caller owns the object (nullptr on failure).
JsonObject *parse_json_object (const std::string &text, std::string *error);

std::string to_json (JsonNode *node);
std::string to_json (JsonObject *object);

// Deep copies. json_node_copy() is not one: in json-glib 1.6 the copy of an object or array
// node shares the object or array with the original.
JsonNode *deep_copy (JsonNode *node);
JsonObject *copy_object (JsonObject *object);

// Getters that tolerate missing members and wrong types, beside rt::json's (which have no
// fallback): the fallback when the member is absent or not a string.
std::string string_or (JsonObject *obj, const char *member,
    const std::string &fallback);
bool has_member_of_type (JsonObject *obj, const char *member,
    JsonNodeType type);
double get_number (JsonObject *obj, const char *member, double fallback);
bool get_bool (JsonObject *obj, const char *member, bool fallback);

// The service's error body: {"error":{"message","type","code","param"}}.
std::string error_body (const std::string &message, const std::string &type,
    const char *code, const char *param = nullptr);

// Build a node from a JSON literal written in the source (must be valid).
JsonNode *json_literal (const char *text);

}  // namespace rts
