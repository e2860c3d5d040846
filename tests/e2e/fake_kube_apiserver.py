#!/usr/bin/env python3
"""A TEST DOUBLE of the kube-apiserver, for scalewise's end-to-end tests.

No real kube-apiserver runs here, so this small HTTPS server stands in for the
three endpoints scalewise's delegated authentication and authorization call
(AGGREGATION.md sections 2-4), and nothing else:

  GET  /api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication
  POST /apis/authentication.k8s.io/v1/tokenreviews
  POST /apis/authorization.k8s.io/v1/subjectaccessreviews

It checks the caller's bearer token (the adapter's own credentials), answers
from tables the test sets, and records every API request so the test can
assert what scalewise asked (and how often). Python 3 standard library only.

Control endpoints (no authentication; test use only):
  GET  /_double/requests   -> JSON list of the recorded API requests
                              [{"method","path","body"(parsed JSON or null),"bearer": bool}]
  POST /_double/clear      -> forget the recorded requests
  POST /_double/set        -> shallow-merge a JSON object into the state (keys below)

State (initial value from --state FILE, a JSON object):
  adapterToken   the bearer token the adapter must present (401 otherwise)
  configmap      the ConfigMap's "data" object (strings), or null for 404
  configmapCode  HTTP code for the ConfigMap (default 200; 403 answers Forbidden)
  tokens         {"<token>": {"username":..,"uid":..,"groups":[..],"extra":{..}}}
  sar            list of allow rules; a rule matches when every key it has equals the
                 review's value ("*" matches anything): user, group (any of the groups),
                 verb, resource, namespace, path (non-resource)
  sarReason      reason sent with a denial (default "")
  fail           {"configmap"|"tokenreview"|"sar": HTTP code}: answer that code (a Status)

usage: fake_kube_apiserver.py --cert CRT --key KEY --port-file FILE [--state FILE]
The port file is written (atomically) once the server listens on 127.0.0.1.
"""
import argparse
import json
import os
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CM_PATH = "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication"
TR_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
SAR_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
MAX_BODY = 1 << 20

LOCK = threading.Lock()
STATE = {
    "adapterToken": "adapter-token",
    "configmap": None,
    "configmapCode": 200,
    "tokens": {},
    "sar": [],
    "sarReason": "",
    "fail": {},
}
REQUESTS = []


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def rule_matches(rule, spec):
    ra = spec.get("resourceAttributes")
    nra = spec.get("nonResourceAttributes")
    have = {
        "user": spec.get("user", ""),
        "verb": (ra or nra or {}).get("verb", ""),
        "resource": (ra or {}).get("resource", ""),
        "namespace": (ra or {}).get("namespace", ""),
        "path": (nra or {}).get("path", ""),
    }
    for k, want in rule.items():
        if k == "group":
            if want != "*" and want not in spec.get("groups", []):
                return False
            continue
        if k == "path" and ra is not None:
            return False
        if k in ("resource", "namespace") and nra is not None:
            return False
        if want != "*" and have.get(k) != want:
            return False
    return True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test prints what it needs
        pass

    def send_json(self, code, obj):
        data = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            return None
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def handle_any(self, method):
        path = self.path.split("?", 1)[0]
        body = self.read_body() if method == "POST" else None
        if path.startswith("/_double/"):
            return self.control(method, path, body)
        auth = self.headers.get("Authorization", "")
        with LOCK:
            REQUESTS.append({"method": method, "path": path, "body": body,
                             "bearer": auth.startswith("Bearer ")})
            st = json.loads(json.dumps(STATE))
        if auth != "Bearer " + st["adapterToken"]:
            return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
        fail = st.get("fail") or {}
        if method == "GET" and path == CM_PATH:
            if "configmap" in fail:
                return self.send_json(fail["configmap"], status(fail["configmap"], "InternalError", "double: failing"))
            code = st.get("configmapCode", 200)
            if code == 403:
                return self.send_json(403, status(
                    403, "Forbidden",
                    'configmaps "extension-apiserver-authentication" is forbidden: User '
                    '"system:serviceaccount:scalewise:scalewise" cannot get resource "configmaps" '
                    'in API group "" in the namespace "kube-system"'))
            if st.get("configmap") is None or code == 404:
                return self.send_json(404, status(404, "NotFound",
                                                  'configmaps "extension-apiserver-authentication" not found'))
            return self.send_json(200, {
                "kind": "ConfigMap", "apiVersion": "v1",
                "metadata": {"name": "extension-apiserver-authentication", "namespace": "kube-system",
                             "resourceVersion": "1"},
                "data": st["configmap"]})
        if method == "POST" and path == TR_PATH:
            if "tokenreview" in fail:
                return self.send_json(fail["tokenreview"], status(fail["tokenreview"], "InternalError", "double: failing"))
            tok = ((body or {}).get("spec") or {}).get("token", "")
            user = st["tokens"].get(tok)
            out = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                   "spec": {}, "status": {"user": {}}}
            if user:
                out["status"] = {"authenticated": True, "user": user,
                                 "audiences": ["https://kubernetes.default.svc.cluster.local"]}
            return self.send_json(201, out)
        if method == "POST" and path == SAR_PATH:
            if "sar" in fail:
                return self.send_json(fail["sar"], status(fail["sar"], "InternalError", "double: failing"))
            spec = (body or {}).get("spec") or {}
            allowed = any(rule_matches(r, spec) for r in st["sar"])
            out = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                   "spec": spec, "status": {"allowed": allowed}}
            if allowed:
                out["status"]["reason"] = "allowed by the double"
            elif st.get("sarReason"):
                out["status"]["reason"] = st["sarReason"]
            return self.send_json(201, out)
        return self.send_json(404, status(404, "NotFound", "the server could not find the requested resource"))

    def control(self, method, path, body):
        if method == "GET" and path == "/_double/requests":
            with LOCK:
                return self.send_json(200, REQUESTS)
        if method == "POST" and path == "/_double/clear":
            with LOCK:
                REQUESTS.clear()
            return self.send_json(200, {})
        if method == "POST" and path == "/_double/set" and isinstance(body, dict):
            with LOCK:
                STATE.update(body)
            return self.send_json(200, {})
        return self.send_json(400, {"error": "unknown control request"})


def main():
    ap = argparse.ArgumentParser(description="kube-apiserver test double")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--state")
    args = ap.parse_args()
    if args.state:
        with open(args.state) as f:
            STATE.update(json.load(f))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
