#!/usr/bin/env python3
"""A scrape target for the tests: serves /metrics in the Prometheus text
format from the file named on the command line (re-read on every scrape), on
127.0.0.1 and a free port that it writes to the port file once listening.
usage: target.py METRICS_FILE PORT_FILE"""
import http.server
import os
import sys

metrics_file, port_file = sys.argv[1], sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            with open(metrics_file, "rb") as f:
                body = f.read()
        except OSError:
            body = b""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
tmp = port_file + ".tmp"
with open(tmp, "w") as f:
    f.write(str(server.server_address[1]))
os.rename(tmp, port_file)
server.serve_forever()
