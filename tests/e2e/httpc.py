#!/usr/bin/env python3
"""tests/e2e/httpc.py - raw HTTP/1.1 for awsmrt's end-to-end tests: what
curl will not send (malformed, pipelined, slow, cut-off requests) and what
it cannot hold (thousands of idle keep-alive connections). Loopback only.

  httpc.py send PORT [--chunks N --delay S] [--half-close] [--wait S] [--quit]
      send stdin's bytes (escapes like \\r\\n decoded), in N pieces with S
      seconds between them; print everything received until the server
      closes, or --wait S of silence; "[closed]" or "[open]" at the end.
      --quit closes right after sending (a client gone mid-request).
  httpc.py idle PORT N PATH
      open N connections, send one GET PATH on each and read its response
      (keep-alive), keep them all open, then print "idle=N ok=K"; then a
      request on a new connection: "fresh=STATUS" (a 503 past the
      server's connection cap); with --then URL, a GET of URL while they
      are open: "then=STATUS"; all closed at the end.
  httpc.py load PORT N CONC PATH
      N POST requests to PATH, each with its own body, from CONC threads
      on keep-alive connections (http.client); every response must be
      200 with the body sent (an echo). Prints "sent=N ok=K" and the
      first failures.
  httpc.py metrics PORT
      GET /metrics, parse it with prometheus_client's parser (Debian's
      python3-prometheus-client) and print every sample on a line of its
      own: name{label="value",...} value, labels sorted.
"""
import argparse
import selectors
import socket
import sys
import time

WAVE = 200


def decode(text):
    return text.encode('latin-1').decode('unicode_escape').encode('latin-1')


def receive(sock, wait):
    """Everything until the peer closes, or `wait` seconds of silence."""
    sock.settimeout(wait)
    got = b''
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return got, True
            got += chunk
    except socket.timeout:
        return got, False
    except ConnectionResetError:
        return got, True


def cmd_send(a):
    data = decode(sys.stdin.read())
    s = socket.create_connection(('127.0.0.1', a.port), timeout=5)
    n = max(1, a.chunks)
    step = (len(data) + n - 1) // n if data else 0
    for i in range(n):
        part = data[i * step:(i + 1) * step]
        try:
            if part:
                s.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            break
        if i + 1 < n:
            time.sleep(a.delay)
    if a.quit:
        s.close()
        print('[quit]')
        return
    if a.half_close:
        s.shutdown(socket.SHUT_WR)
    got, closed = receive(s, a.wait)
    sys.stdout.write(got.decode('latin-1'))
    print('\n[closed]' if closed else '\n[open]')
    s.close()


def status_of(resp):
    line = resp.split(b'\r\n', 1)[0].split()
    return line[1].decode() if len(line) > 1 else 'none'


def read_response(sock):
    """One response with a Content-Length body; b'' if none came."""
    buf = b''
    while b'\r\n\r\n' not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return buf
        buf += chunk
    head, body = buf.split(b'\r\n\r\n', 1)
    length = 0
    for line in head.split(b'\r\n')[1:]:
        k, _, v = line.partition(b':')
        if k.strip().lower() == b'content-length':
            length = int(v)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b'\r\n\r\n' + body


def cmd_idle(a):
    req = ('GET %s HTTP/1.1\r\nHost: t\r\n\r\n' % a.path).encode()
    conns, ok = [], 0
    for _ in range(a.n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(('127.0.0.1', a.port))
        conns.append(s)
    # One request on each, at most WAVE outstanding (the server's
    # in-flight limits would answer a burst of 10,000 with 503s).
    sel = selectors.DefaultSelector()
    todo, outstanding, bufs = list(conns), 0, {}
    deadline = time.time() + 120
    while (todo or outstanding) and time.time() < deadline:
        while todo and outstanding < WAVE:
            s = todo.pop()
            sel.register(s, selectors.EVENT_WRITE)
            outstanding += 1
        for key, ev in sel.select(timeout=1):
            s = key.fileobj
            if ev & selectors.EVENT_WRITE:
                try:
                    s.send(req)
                except OSError:
                    sel.unregister(s)
                    outstanding -= 1
                    continue
                sel.modify(s, selectors.EVENT_READ)
                bufs[s] = b''
            else:
                try:
                    chunk = s.recv(65536)
                except OSError:
                    chunk = b''
                bufs[s] += chunk
                if not chunk or b'\r\n\r\n' in bufs[s]:
                    ok += status_of(bufs[s]) == '200'
                    sel.unregister(s)
                    outstanding -= 1
    print('idle=%d ok=%d' % (len(conns), ok))
    s = socket.create_connection(('127.0.0.1', a.port), timeout=10)
    s.sendall(req)
    print('fresh=%s' % status_of(read_response(s)))
    s.close()
    if a.then:
        host, _, rest = a.then.partition('//')[2].partition('/')
        t = socket.create_connection((host.split(':')[0], int(host.split(':')[1])), timeout=10)
        t.sendall(('GET /%s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' % rest).encode())
        print('then=%s' % status_of(read_response(t)))
        t.close()
    for s in conns:
        s.close()


def cmd_load(a):
    import http.client
    import threading
    lock = threading.Lock()
    counts = {'ok': 0, 'sent': 0}
    failures = []

    def worker(first, step):
        conn = None
        for i in range(first, a.n, step):
            body = ('request %d' % i).encode()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection('127.0.0.1', a.port, timeout=20)
                conn.request('POST', a.path, body=body)
                r = conn.getresponse()
                got = r.read()
                good = r.status == 200 and got == body
                if r.getheader('Connection', '').lower() == 'close':
                    conn.close()
                    conn = None
                why = '' if good else '%d %r' % (r.status, got[:80])
            except (OSError, http.client.HTTPException) as e:
                good, why = False, repr(e)
                conn = None
            with lock:
                counts['sent'] += 1
                counts['ok'] += good
                if not good and len(failures) < 5:
                    failures.append('request %d: %s' % (i, why))

    threads = [threading.Thread(target=worker, args=(t, a.conc)) for t in range(a.conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print('sent=%d ok=%d' % (counts['sent'], counts['ok']))
    for f in failures:
        print(f)


def cmd_metrics(a):
    from prometheus_client.parser import text_string_to_metric_families
    s = socket.create_connection(('127.0.0.1', a.port), timeout=10)
    s.sendall(b'GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')
    got, _ = receive(s, 10)
    head, _, body = got.partition(b'\r\n\r\n')
    if status_of(head) != '200':
        sys.exit('GET /metrics: %s' % head.decode('latin-1'))
    for fam in text_string_to_metric_families(body.decode()):
        for sample in fam.samples:
            labels = ','.join('%s="%s"' % kv for kv in sorted(sample.labels.items()))
            print('%s{%s} %g' % (sample.name, labels, sample.value))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('send')
    s.add_argument('port', type=int)
    s.add_argument('--chunks', type=int, default=1)
    s.add_argument('--delay', type=float, default=0.0)
    s.add_argument('--half-close', action='store_true')
    s.add_argument('--quit', action='store_true')
    s.add_argument('--wait', type=float, default=3.0)
    i = sub.add_parser('idle')
    i.add_argument('port', type=int)
    i.add_argument('n', type=int)
    i.add_argument('path')
    i.add_argument('--then')
    ld = sub.add_parser('load')
    ld.add_argument('port', type=int)
    ld.add_argument('n', type=int)
    ld.add_argument('conc', type=int)
    ld.add_argument('path')
    m = sub.add_parser('metrics')
    m.add_argument('port', type=int)
    a = p.parse_args()
    {'send': cmd_send, 'idle': cmd_idle, 'load': cmd_load,
     'metrics': cmd_metrics}[a.cmd](a)


if __name__ == '__main__':
    main()
