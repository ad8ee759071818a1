#!/usr/bin/env python3
"""Release bootstrap binaries of a generated project: size, zipped size, time from process
start to the first poll of the Lambda Runtime API, and resident memory at that moment.

Each binary runs against a stub Runtime API on loopback that records when
`GET /2018-06-01/runtime/invocation/next` arrives and never answers it (the function is then
ready and idle, as Lambda sees it before the first invocation). Prints the median of several
starts per binary and the targets (3 MB zipped, 20 ms, 20 MB RSS).

usage: bench-binaries.py PROJECT_DIR RELEASE_DIR [RUNS]   (a binary per services/<service> of
the project, as `cargo build --release` put them in RELEASE_DIR)
"""
import http.server
import io
import os
import socketserver
import statistics
import subprocess
import sys
import threading
import time
import zipfile



def services(project):
    """The project's services: each folder under services/ with a manifest is a binary."""
    root = os.path.join(project, "services")
    return sorted(s for s in os.listdir(root) if os.path.isfile(os.path.join(root, s, "Cargo.toml")))


class Stub(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path.endswith("/runtime/invocation/next"):
            self.server.first_poll.set()
            # Hold the poll open, as Lambda does while no event is waiting.
            self.server.release.wait(timeout=5)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start_once(binary):
    server = Server(("127.0.0.1", 0), Stub)
    server.first_poll = threading.Event()
    server.release = threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
    }
    start = time.perf_counter()
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ready = server.first_poll.wait(timeout=10)
    elapsed = (time.perf_counter() - start) * 1000
    rss = rss_kib(process.pid) if ready else 0
    process.kill()
    process.wait()
    server.release.set()
    server.shutdown()
    if not ready:
        raise SystemExit(f"{binary} never polled the Runtime API")
    return elapsed, rss


def zipped_size(binary):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.write(binary, "bootstrap")
    return len(buffer.getvalue())


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    project, release, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 15
    met = lambda ok: "met" if ok else "NOT MET"
    print(f"Release bootstraps in {release} ({os.uname().machine}), {runs} starts each:")
    print(f"  {'function':<12} {'size':>8} {'zipped':>8} {'ready p50':>10} {'ready max':>10} {'RSS p50':>9}")
    for service in services(project):
        binary = os.path.join(release, service)
        if not os.path.exists(binary):
            raise SystemExit(f"{binary} is missing: build the project with cargo build --release first")
        samples = [start_once(binary) for _ in range(runs)]
        ready = [s[0] for s in samples]
        rss = statistics.median(s[1] for s in samples) / 1024
        size, zipped = os.path.getsize(binary) / 1e6, zipped_size(binary) / 1e6
        print(
            f"  {service:<12} {size:>6.1f}MB {zipped:>6.2f}MB {statistics.median(ready):>8.1f}ms {max(ready):>8.1f}ms {rss:>7.1f}MB"
            f"   zip<=3MB {met(zipped <= 3)}, ready<=20ms {met(statistics.median(ready) <= 20)}, RSS<=20MB {met(rss <= 20)}"
        )


if __name__ == "__main__":
    main()
