#!/usr/bin/env python3
"""webhook_sink.py — a webhook receiver for tests/e2e/test_notify.sh that misbehaves on
purpose, then records what it accepts.

    webhook_sink.py --port P --dir D [--fail-first N] [--drop-first M] [--fail-while FILE]

Listens on 127.0.0.1:P for POSTs of JSON.  The first N requests get HTTP 500, the next M
have their connection dropped without an answer; while FILE exists every request gets
HTTP 503.  Any other request is accepted (HTTP 200).  Every request is one line of
D/requests.jsonl ({"n", "id", "answer"}); every accepted notice one line of
D/accepted.jsonl (the body as received, plus "dup": true when its id was accepted
before — a receiver de-duplicates by id, so it still answers 200).  A body that is not
JSON with an "id" gets HTTP 400.
"""
import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--dir", required=True)
ap.add_argument("--fail-first", type=int, default=0)
ap.add_argument("--drop-first", type=int, default=0)
ap.add_argument("--fail-while", default="")
args = ap.parse_args()

state = {"n": 0, "seen": set()}


def record(name, obj):
    with open(os.path.join(args.dir, name), "a", encoding="utf-8") as f:
        f.write(json.dumps(obj, ensure_ascii=False) + "\n")


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):  # quiet
        pass

    def answer(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        state["n"] += 1
        n = state["n"]
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, 1 << 20))
        try:
            body = json.loads(raw.decode("utf-8"))
            nid = body["id"]
        except Exception:
            record("requests.jsonl", {"n": n, "id": None, "answer": 400})
            return self.answer(400)
        if n <= args.fail_first:
            record("requests.jsonl", {"n": n, "id": nid, "answer": 500})
            return self.answer(500)
        if n <= args.fail_first + args.drop_first:
            record("requests.jsonl", {"n": n, "id": nid, "answer": "drop"})
            self.close_connection = True
            return                      # no answer at all: the client sees the connection end
        if args.fail_while and os.path.exists(args.fail_while):
            record("requests.jsonl", {"n": n, "id": nid, "answer": 503})
            return self.answer(503)
        body["dup"] = nid in state["seen"]
        body["idempotency_key"] = self.headers.get("Idempotency-Key")
        state["seen"].add(nid)
        record("accepted.jsonl", body)
        record("requests.jsonl", {"n": n, "id": nid, "answer": 200})
        return self.answer(200)


srv = HTTPServer(("127.0.0.1", args.port), Sink)
print("listening", flush=True)
try:
    srv.serve_forever()
except KeyboardInterrupt:
    sys.exit(0)
