#!/usr/bin/env python3
"""Load clients and a kernel echo server for bench/many-clients/run.sh (asyncio, one process).

    echo_load.py crowd HOST PORT N BYTES [--connect-timeout S] [--io-timeout S] [--label L]
        N clients connect at once; when every connect attempt has ended, each connected client
        sends BYTES of its own (random) data while reading the echo back, compares every byte,
        and closes. Prints one JSON object: counts per outcome, wall time, phase times.
    echo_load.py short HOST PORT COUNT CONCURRENCY BYTES [--label L]
        COUNT short connections, CONCURRENCY at a time, BYTES each, echo checked (the kernel's
        side of echo-client's --count/--concurrency/--bytes). Prints one JSON object.
    echo_load.py serve HOST PORT
        A kernel echo server (RFC 862 over TCP): prints 'ready' once listening, runs until killed.

Outcomes per client (crowd and short):
    ok        every byte came back, in order, equal
    eof       the server closed (FIN) before all bytes came back (eof_bytes: how many did)
    reset     ECONNRESET / EPIPE on connect, send or receive
    refused   ECONNREFUSED on connect (a RST answering the SYN)
    timeout   connect (connect_timeout) or echo (io_timeout) did not finish in time
    mismatch  as many bytes came back as were sent, but not the same bytes
    other     any other error (first_other shows one)
"""
import asyncio
import errno
import json
import os
import resource
import sys
import time


def opts(argv, defaults):
    out = dict(defaults)
    rest = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("--") and a[2:].replace("-", "_") in out:
            out[a[2:].replace("-", "_")] = type(defaults[a[2:].replace("-", "_")])(argv[i + 1])
            i += 2
        else:
            rest.append(a)
            i += 1
    return rest, out


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def classify(exc):
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return "reset"
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timeout"
    if isinstance(exc, OSError) and exc.errno == errno.ECONNREFUSED:
        return "refused"
    if isinstance(exc, OSError) and exc.errno in (errno.ECONNRESET, errno.EPIPE):
        return "reset"
    if isinstance(exc, OSError) and exc.errno == errno.ETIMEDOUT:
        return "timeout"
    return "other"


class Tally:
    def __init__(self):
        self.counts = {k: 0 for k in ("ok", "eof", "reset", "refused", "timeout", "mismatch", "other")}
        self.where = {}  # outcome -> {phase: count}
        self.eof_bytes = 0  # bytes echoed on connections that then ended with EOF
        self.eof_no_data = 0  # EOF before a single echoed byte
        self.first_other = None

    def add(self, outcome, phase, exc=None):
        self.counts[outcome] += 1
        if outcome != "ok":
            w = self.where.setdefault(outcome, {})
            w[phase] = w.get(phase, 0) + 1
        if outcome == "other" and self.first_other is None:
            self.first_other = repr(exc)

    def json(self):
        return {"counts": self.counts, "failed_in_phase": self.where, "eof_no_data": self.eof_no_data,
                "eof_partial_bytes": self.eof_bytes, "first_other": self.first_other}


async def exchange(tally, reader, writer, msg, io_timeout):
    """Sends msg while reading the echo; returns after recording the outcome. Closes."""
    got = bytearray()

    async def send():
        writer.write(msg)
        await writer.drain()

    async def recv():
        while len(got) < len(msg):
            chunk = await reader.read(min(65536, len(msg) - len(got)))
            if not chunk:
                return
            got.extend(chunk)

    try:
        await asyncio.wait_for(asyncio.gather(send(), recv()), io_timeout)
        if len(got) < len(msg):
            tally.add("eof", "echo")
            tally.eof_bytes += len(got)
            if not got:
                tally.eof_no_data += 1
        elif bytes(got) != msg:
            tally.add("mismatch", "echo")
        else:
            tally.add("ok", "echo")
    except BaseException as e:  # noqa: BLE001 - every failure is counted, none ends the run
        if isinstance(e, asyncio.CancelledError):
            raise
        tally.add(classify(e), "echo", e)
    finally:
        try:
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), 5)
        except BaseException as e:  # noqa: BLE001
            if isinstance(e, asyncio.CancelledError):
                raise


def payload(i, size):
    head = f"client {i:06d} ".encode()
    return (head + os.urandom(max(0, size - len(head))))[:size]


async def crowd(host, port, n, size, connect_timeout, io_timeout):
    tally = Tally()
    all_tried = asyncio.Event()
    tried = 0
    connected = 0
    t0 = time.monotonic()
    t_connected = [t0]

    async def one(i):
        nonlocal tried, connected
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, limit=1 << 20),
                                                    connect_timeout)
        except BaseException as e:  # noqa: BLE001
            if isinstance(e, asyncio.CancelledError):
                raise
            tally.add(classify(e), "connect", e)
            tried += 1
            if tried == n:
                t_connected[0] = time.monotonic()
                all_tried.set()
            return
        connected += 1
        tried += 1
        if tried == n:
            t_connected[0] = time.monotonic()
            all_tried.set()
        await all_tried.wait()  # every client holds its connection until all have tried
        await exchange(tally, reader, writer, payload(i, size), io_timeout)

    await asyncio.gather(*(one(i) for i in range(n)))
    t1 = time.monotonic()
    return dict(tally.json(), clients=n, bytes_each=size, connected_at_once=connected,
                connect_phase_s=round(t_connected[0] - t0, 3), echo_phase_s=round(t1 - t_connected[0], 3),
                wall_s=round(t1 - t0, 3))


async def short(host, port, count, concurrency, size, connect_timeout, io_timeout):
    tally = Tally()
    nxt = 0
    first_error = None
    t0 = time.monotonic()

    async def worker():
        nonlocal nxt, first_error
        while nxt < count:
            i = nxt
            nxt += 1
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), connect_timeout)
            except BaseException as e:  # noqa: BLE001
                if isinstance(e, asyncio.CancelledError):
                    raise
                tally.add(classify(e), "connect", e)
                if first_error is None:
                    first_error = f"connection {i}: connect: {e!r}"
                continue
            before = tally.counts["ok"]
            await exchange(tally, reader, writer, payload(i, size), io_timeout)
            if tally.counts["ok"] == before and first_error is None:
                first_error = f"connection {i}: echo failed"

    await asyncio.gather(*(worker() for _ in range(min(concurrency, count))))
    t1 = time.monotonic()
    return dict(tally.json(), connections=count, concurrency=concurrency, bytes_each=size, first_error=first_error,
                wall_s=round(t1 - t0, 3))


async def serve(host, port):
    async def handle(reader, writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            try:
                writer.close()
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    server = await asyncio.start_server(handle, host, port, backlog=65535, reuse_address=True)
    print("ready", host, port, flush=True)
    async with server:
        await server.serve_forever()


def main():
    argv, o = opts(sys.argv[1:], {"connect_timeout": 30.0, "io_timeout": 90.0, "label": ""})
    nofile = raise_nofile()
    mode = argv[0]
    if mode == "serve":
        asyncio.run(serve(argv[1], int(argv[2])))
        return 0
    host, port = argv[1], int(argv[2])
    if mode == "crowd":
        n, size = int(argv[3]), int(argv[4])
        res = asyncio.run(crowd(host, port, n, size, o["connect_timeout"], o["io_timeout"]))
    elif mode == "short":
        count, conc, size = int(argv[3]), int(argv[4]), int(argv[5])
        res = asyncio.run(short(host, port, count, conc, size, o["connect_timeout"], o["io_timeout"]))
    else:
        print(f"unknown mode {mode}", file=sys.stderr)
        return 2
    res = dict({"label": o["label"], "mode": mode, "host": host, "port": port, "nofile": nofile}, **res)
    print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
