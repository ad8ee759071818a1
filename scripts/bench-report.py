#!/usr/bin/env python3
"""`make bench`: one performance report for genai-scaffold and the projects it writes.

Runs each benchmark in turn, shows its full output, and ends with every target line gathered
in one table: generation time beside cargo-generate; per-function release binary size, zipped
size, start-up and RSS (and the arm64 zips `make build` deploys, where the aarch64 target is
installed); what the local stack adds to time to first chunk; WebSocket total time
with 20 ms posts, ours beside one post per delta; answers of about 6 s one by one, each
strategy's frames per answer and cost per million answers (the project's price table), a
service that declares a frame floor measured without it and at a few, its frames against the
floor's bound and its first chunk against the run without; peak RSS with 200 concurrent
streams.
Every figure comes from this run. Exits 1 if a target line is missing (a benchmark broke),
not when a target is missed: the report says which are.

usage: bench-report.py FRESH PROJECT TARGET_DIR

FRESH is a just-generated all-strategies project; it replaces PROJECT file by file, and files
whose content did not change keep their modification time, so Cargo rebuilds only what the
template changed.
"""
import json
import os
import platform
import filecmp
import re
import shutil
import subprocess
import sys
import time

RSS_TARGET_MIB = 256


def run(title, command, cwd=None, env=None):
    print(f"\n== {title}\n$ {' '.join(command)}", flush=True)
    started = time.monotonic()
    process = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
    print(process.stdout, end="", flush=True)
    print(f"({time.monotonic() - started:.0f} s)")
    if process.returncode != 0:
        raise SystemExit(f"{title} failed (exit {process.returncode})")
    return process.stdout


# Build outputs in the project that a fresh generation does not have and must not delete.
KEEP = {"target", "node_modules", "dist", "test-results"}


def sync(fresh, project):
    """Makes PROJECT hold FRESH's files, rewriting only the files that differ."""
    for root, dirs, files in os.walk(fresh):
        relative = os.path.relpath(root, fresh)
        os.makedirs(os.path.join(project, relative), exist_ok=True)
        for name in files:
            source, destination = os.path.join(root, name), os.path.join(project, relative, name)
            if not (os.path.isfile(destination) and filecmp.cmp(source, destination, shallow=False)):
                shutil.copy2(source, destination)
    for root, dirs, files in os.walk(project):
        dirs[:] = [d for d in dirs if d not in KEEP]
        relative = os.path.relpath(root, project)
        for name in files + dirs:
            if not os.path.exists(os.path.join(fresh, relative, name)):
                path = os.path.join(root, name)
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    shutil.rmtree(fresh)


def target_lines(output):
    """Lines that state a target and its verdict."""
    return [line.strip() for line in output.splitlines() if re.search(r"\b(met|NOT MET)\b", line)]


ZIP_TARGET_MB = 3


def arm64_zips(project, target, env):
    """The zips Lambda deploys by default (arm64, `make build`), when this machine can build them:
    the rustup target aarch64-unknown-linux-gnu and cargo-lambda (with its zig) installed."""
    installed = subprocess.run(["rustup", "target", "list", "--installed"], stdout=subprocess.PIPE, text=True)
    venv_bin = os.path.join(os.environ.get("MATRIX_INFRA_VENV", ""), "bin")
    path = os.pathsep.join([venv_bin, env.get("PATH", "")])
    if "aarch64-unknown-linux-gnu" not in installed.stdout or not shutil.which("cargo-lambda", path=path):
        print("\n== arm64 zips: skipped (needs `rustup target add aarch64-unknown-linux-gnu` and "
              "cargo-lambda, from `make install-test-deps`)")
        return []
    run("arm64 zips, as `make build` makes them for deploying", ["make", "build", "ARCH=arm64"],
        cwd=project, env=dict(env, PATH=path))
    lines = []
    for service in sorted(os.listdir(os.path.join(project, "services"))):
        zipped = os.path.getsize(os.path.join(target, "lambda", service, "bootstrap.zip")) / 1e6
        verdict = "met" if zipped <= ZIP_TARGET_MB else "NOT MET"
        lines.append(f"{service:<12} zip {zipped:.2f}MB   zip<={ZIP_TARGET_MB}MB {verdict}")
    return lines


def benchmark_examples(project):
    """(package, example) of every example target of the project's workspace: its benchmarks
    (the local stack's overhead, a strategy's own, e.g. the WebSocket frames' coalescing), as
    Cargo reads the manifests."""
    out = subprocess.run(
        ["cargo", "metadata", "--no-deps", "--offline", "--format-version", "1"],
        cwd=project, capture_output=True, text=True, check=True, timeout=120,
    ).stdout
    return [
        (package["name"], target["name"])
        for package in json.loads(out)["packages"]
        for target in package["targets"]
        if "example" in target["kind"]
    ]


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    fresh, project, target = (os.path.abspath(a) for a in sys.argv[1:])
    sync(fresh, project)
    env = dict(os.environ, CARGO_TARGET_DIR=target)
    started = time.monotonic()
    sections = []

    out = run("generation: genai-scaffold beside cargo-generate", ["cargo", "bench", "--quiet", "--bench", "generate"])
    sections.append(("generation", target_lines(out)))

    run("release build of the project", ["cargo", "build", "--quiet", "--release", "--workspace"], cwd=project, env=env)
    here = os.path.dirname(os.path.abspath(__file__))
    out = run(
        "release bootstraps: size, zip, start to first poll, RSS",
        [sys.executable, os.path.join(here, "bench-binaries.py"), project, os.path.join(target, "release")],
    )
    sections.append(("functions", target_lines(out)))
    arm64 = arm64_zips(project, target, env)
    if arm64:
        sections.append(("arm64", arm64))

    # The two project benchmarks are examples: built with the release profile as it is, they
    # reuse every dependency of the release build above and only link themselves.
    run("build of the project's benchmarks", ["cargo", "build", "--quiet", "--release", "--workspace", "--examples"], cwd=project, env=env)
    out = ""
    for package, example in benchmark_examples(project):
        out += run(
            f"{package}: {example}",
            ["cargo", "run", "--quiet", "--release", "-p", package, "--example", example],
            cwd=project,
            env=env,
        )
    lines = target_lines(out)
    sections.append(("local stack", [line for line in lines if "through the stack" in line]))
    sections.append(("coalescing", [line for line in lines if "through the stack" not in line]))

    # Answers of about 6 s (300 ms, then 456 tokens at 80 a second), one by one: what each
    # strategy's answer costs, and the frame floors side by side, each on a stack of its own.
    out = run(
        "6 s answers one by one: frames and cost per answer, frame floors",
        [
            os.path.join(target, "release", "bench"),
            "--bin-dir", os.path.join(target, "release"),
            "--modes", "sequential", "--requests", "10", "--tokens", "456",
            "--frame-floors", "off,50,default,250", "--max-seconds", "1200",
            "--out", os.path.join(target, "bench-floors"),
        ],
        cwd=project,
        env=dict(env, RUST_LOG="warn"),
    )
    sections.append(("frame floor", target_lines(out)))
    # The bench's cost table: a row per strategy (and floor), frames, p50s and dollars.
    rows = re.findall(r"^\S+\s+\d+\s+\d+\s+\d+\s+\$.*$", out.split("cost per million answers", 1)[-1], re.M)
    sections.append(("cost", ["strategy  frames  first ms  total ms  API Gateway  Lambda  CloudFront  DynamoDB  total (USD per million answers)"] + rows if rows else []))

    out = run(
        "200 concurrent streams per strategy through the local stack",
        [
            os.path.join(target, "release", "bench"),
            "--bin-dir", os.path.join(target, "release"),
            "--modes", "concurrent", "--requests", "200", "--concurrency", "200",
            "--max-instances", "64", "--ttft-ms", "50", "--tokens-per-second", "200",
            "--tokens", "40", "--post-latency-ms", "5", "--invoke-latency-ms", "2",
            "--out", os.path.join(target, "bench-rss"), "--max-seconds", "300",
        ],
        cwd=project,
        # The functions' own request logs would drown the table.
        env=dict(env, RUST_LOG="warn"),
    )
    # As the bench prints it: the whole stack, then this process and the function instances.
    rss = re.search(r"peak RSS of the local stack: ([0-9.]+) MiB = ([0-9.]+) MiB this process .*?\+ ([0-9.]+) MiB in (\d+) function", out)
    errors = re.findall(r"^\S+\s+concurrent\s+\d+\s+(\d+)", out, re.M)
    lines = []
    if rss:
        total, own, instances, count = float(rss.group(1)), float(rss.group(2)), float(rss.group(3)), rss.group(4)
        verdict = "met" if own <= RSS_TARGET_MIB and all(e == "0" for e in errors) else "NOT MET"
        lines.append(
            f"peak RSS, 200 concurrent streams: {total:.1f} MiB = {own:.1f} MiB the bench's process + "
            f"{instances:.1f} MiB in {count} function instances, errors {'/'.join(errors) or '?'}   "
            f"target <= {RSS_TARGET_MIB} MiB in the bench's process, 0 errors   {verdict}"
        )
    sections.append(("load", lines))

    print(f"\n== Performance report ({platform.machine()}, {os.cpu_count()} cores), "
          f"{time.monotonic() - started:.0f} s")
    missing = [name for name, found in sections if not found]
    for name, found in sections:
        for line in found:
            print(f"  {name:<12} {line}")
    if missing:
        raise SystemExit(f"no target line from: {', '.join(missing)}")


if __name__ == "__main__":
    main()
