#!/usr/bin/env python3
"""Writes web/api/openapi.json, the OpenAPI 3.0 description of plcdiag's JSON API, served at
/api/openapi.json. Edit this file, run it, commit both. `web::tests` checks that the document
names exactly the routes of the router, and tests/schemathesis.rs fuzzes a live gateway
against it."""
import json
import pathlib

ts = {"type": "string", "format": "date-time"}
ts_null = {"type": "string", "format": "date-time", "nullable": True}
s = {"type": "string"}
s_null = {"type": "string", "nullable": True}
i = {"type": "integer"}
b = {"type": "boolean"}
anyv = {}
error = {"$ref": "#/components/schemas/Error"}


def obj(required, props, extra=True):
    o = {"type": "object", "required": required, "properties": props}
    if not extra:
        o["additionalProperties"] = False
    return o


def json_body(schema):
    return {"content": {"application/json": {"schema": schema}}}


def err(desc):
    # Query and path rejections come from the framework as text; the handlers' own as JSON.
    return {"description": desc, "content": {"application/json": {"schema": error},
                                              "text/plain": {"schema": s}}}


def q(name, desc, schema=None):
    return {"name": name, "in": "query", "required": False, "description": desc,
            "schema": schema or s}


def p(name, desc, schema=None):
    return {"name": name, "in": "path", "required": True, "description": desc,
            "schema": schema or s}


window = [q("from", "Start: RFC 3339, Unix milliseconds or YYYY-MM-DDTHH:MM (UTC), 1970..9999."),
          q("to", "End, same forms; default now.")]
device = p("name", "Device name as configured.")
alarm_id = p("id", "Alarm (activation) id.", {"type": "integer", "format": "int64"})

alarm = obj(["id", "rule", "device", "priority", "state", "active", "acked", "message",
             "raised_at", "updated_at"], {
    "id": i, "rule": s, "device": s, "driver": s, "priority": s, "state": s, "active": b,
    "acked": b, "message": s, "values": anyv, "raised_at": ts, "cleared_at": ts_null,
    "acked_at": ts_null, "acked_by": s_null, "ack_note": s_null, "shelved_until": ts_null,
    "updated_at": ts})
journal = obj(["id", "alarm_id", "at", "rule", "device", "priority", "transition", "state",
               "message"], {
    "id": i, "alarm_id": i, "at": ts, "rule": s, "device": s, "priority": s, "transition": s,
    "state": s, "message": s, "values": anyv, "user": s_null, "note": s_null})
device_view = obj(["name", "health"], {"name": s, "health": {"type": "object"}})
action_body = {"type": "object", "additionalProperties": False, "properties": {
    "note": {"type": "string", "description": "Why; kept in the journal (at most 500 characters)."},
    "user": {"type": "string", "description": "Who, when authentication is off."},
    "duration": {"type": "string", "description": "Shelve only: e.g. \"2h\"; default \"1h\"."}}}
undelivered = obj(["id", "receiver", "journal_id", "alarm_id", "created", "dead_at", "attempts",
                   "reason"], {
    "id": i, "receiver": s, "journal_id": i, "alarm_id": i, "rule": s_null, "device": s_null,
    "transition": s_null, "created": ts, "dead_at": ts, "attempts": i, "reason": s})


def get(summary, params, ok, errors=("400",)):
    responses = {"200": {"description": "OK", **json_body(ok)}}
    for code in errors:
        responses[code] = err({"400": "Malformed parameter", "404": "Not found"}[code])
    return {"get": {"summary": summary, "parameters": params, "responses": responses}}


def action(summary):
    return {"post": {
        "summary": summary,
        "parameters": [alarm_id],
        "requestBody": {"required": False, **json_body(action_body)},
        "responses": {
            "200": {"description": "Done; the alarm as it is now",
                    **json_body(obj(["alarm"], {"alarm": alarm}))},
            "400": err("Malformed id or body"),
            "403": err("Not allowed for this role, or no CSRF token"),
            "404": err("No such alarm"),
            "409": err("The alarm is finished, or the state machine refused"),
            "503": err("The rules engine is not running or cannot journal now"),
        }}}


paths = {
    "/api/openapi.json": {"get": {"summary": "This document", "responses": {
        "200": {"description": "OpenAPI 3.0", **json_body({"type": "object"})}}}},
    "/api/session": {"get": {"summary": "Who is asking: user, role and CSRF token", "responses": {
        "200": {"description": "OK", **json_body(obj(["auth"], {"auth": b}))},
        "401": err("Authentication is on and no credentials were given")}}},
    "/api/devices": get("Every device as the live view has it", [],
                        obj(["now", "devices"], {"now": ts, "devices": {"type": "array", "items": device_view}}), ()),
    "/api/devices/{name}": get("One device", [device], device_view, ("404",)),
    "/api/devices/{name}/history": get("Health timeline and tag samples", [device] + window,
                                       obj(["timeline", "samples"], {"timeline": {"type": "array"}, "samples": {"type": "array"}}),
                                       ("400", "404")),
    "/api/devices/{name}/diagnostics": get(
        "Stored diagnostic events, newest first", [device] + window + [
            q("limit", "At most this many (1..10000, default 100)."),
            q("class", "Only events of this class (0..15)."),
            q("before", "The next_before of the page before.")],
        obj(["device", "from", "to", "events"], {"device": s, "from": ts, "to": ts,
                                                 "events": {"type": "array"}, "next_before": s}),
        ("400", "404")),
    "/api/devices/{name}/status": get(
        "Status changes, oldest first", [device, q("kind", "e.g. cpu_mode")] + window,
        obj(["device", "from", "to", "changes"], {"device": s, "from": ts, "to": ts, "changes": {"type": "array"}}),
        ("400", "404")),
    "/api/alarms": get("Open alarms", [], obj(["now", "alarms"], {"now": ts, "alarms": {"type": "array", "items": alarm}}), ()),
    "/api/alarms/history": get(
        "The alarm journal, newest first", window + [
            q("device", "Device name."), q("rule", "Rule name."),
            q("priority", "low, medium, high or critical."), q("state", "An alarm state."),
            q("transition", "A journal transition."),
            q("limit", "At most this many.", {"type": "integer", "format": "int64"}),
            q("before", "Journal id: only older entries.", {"type": "integer", "format": "int64"})],
        obj(["from", "to", "entries"], {"from": ts, "to": ts, "entries": {"type": "array", "items": journal},
                                        "next_before": {"type": "integer", "nullable": True}})),
    "/api/alarms/kpis": get("Alarm-system KPIs (ISA-18.2, EEMUA 191)", window,
                            obj(["from", "to", "total_activations"], {"from": ts, "to": ts, "total_activations": i})),
    "/api/alarms/{id}": get("One alarm with its journal", [alarm_id], {"type": "object"}, ("400", "404")),
    "/api/alarms/{id}/ack": action("Acknowledge (and reset a latched alarm)"),
    "/api/alarms/{id}/shelve": action("Shelve the alarm's point"),
    "/api/alarms/{id}/unshelve": action("End the shelving"),
    "/api/notifications/undelivered": get(
        "Notices that did not reach their receiver, newest first",
        [q("limit", "At most this many (1..10000, default 100; more is taken as 10000).",
           {"type": "integer", "minimum": 0, "maximum": 4294967295})],
        obj(["notices"], {"notices": {"type": "array", "items": undelivered}})),
}

doc = {
    "openapi": "3.0.3",
    "info": {"title": "plcdiag", "version": "0.1.0",
             "description": "PLC diagnostics gateway: devices, diagnostics, alarms. "
                            "Authentication: a session cookie (with X-CSRF-Token on writes) "
                            "or Authorization: Bearer TOKEN, when [auth] has users or tokens.",
             "license": {"name": "MIT OR Apache-2.0"}},
    "paths": paths,
    "components": {"schemas": {"Error": obj(["error"], {"error": s})}},
}
out = pathlib.Path(__file__).with_name("openapi.json")
out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
