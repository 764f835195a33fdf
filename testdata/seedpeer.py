#!/usr/bin/env python3
"""A seed peer: an independent implementation of udpchat's protocol version 1
(the seed course project) in Python with pycryptodome and the json module, as
the seed was written. udpchat's tests run it to prove wire interoperability.

    seedpeer.py client HOST PORT   send each line of stdin, print what arrives
    seedpeer.py server HOST PORT   the seed's server (PORT 0: any free port)
    seedpeer.py dump               packets built from fixed inputs (JSON on stdin)
    seedpeer.py check              print which crypto module is in use

Environment (client): SEEDPEER_RTO (seconds before a DATA is sent again,
default 2.0), SEEDPEER_LINGER (seconds to keep printing broadcasts after the
end of input, default 0), SEEDPEER_BIND (local address to bind, default none:
the operating system picks, as in the seed).

The server is the seed's, defects included, as docs/PROTOCOL.md describes
them: it handles each datagram in a thread of its own, and ACKs a DATA first,
before it checks the seq or the MAC; a DATA at the expected seq is then
opened, printed on the server's console and broadcast, and only then does the
expected seq advance. A DATA that arrives meanwhile (its sender sent it the
moment the ACK came) is taken for out of order: ACKed, and dropped. Its
sender moves on, every later seq is ahead of the expected one, and the
session is silently dead. A DATA whose MAC is bad is ACKed and dropped too.

Differences from the seed, none of which changes a byte on the wire: the
client gives up on a handshake after 30 s instead of hanging; the server
drops a seq that is not an integer (the seed echoed it in the ACK).
"""

import base64
import hashlib
import hmac
import json
import os
import queue
import signal
import socket
import sys
import threading
import time

try:
    from Crypto import __version__ as crypto_version
    from Crypto.Cipher import AES, PKCS1_OAEP
    from Crypto.PublicKey import RSA
    from Crypto.Random import get_random_bytes
    from Crypto.Util.Padding import pad, unpad
    CRYPTO_MODULE = "Crypto"
except ImportError:
    from Cryptodome import __version__ as crypto_version
    from Cryptodome.Cipher import AES, PKCS1_OAEP
    from Cryptodome.PublicKey import RSA
    from Cryptodome.Random import get_random_bytes
    from Cryptodome.Util.Padding import pad, unpad
    CRYPTO_MODULE = "Cryptodome"

BUFSIZE = 4096          # what the seed reads per datagram
MAX_RETRIES = 5         # retransmissions of one DATA before giving up
HANDSHAKE_TIMEOUT = 30  # seconds; the seed waited forever


def log(*args):
    print("seedpeer:", *args, file=sys.stderr, flush=True)


def b64(data):
    return base64.b64encode(data).decode("ascii")


def unb64(text):
    return base64.b64decode(text, validate=True)


# --- packets: exactly the seed's json.dumps, default separators -------------

def key_req(public_pem):
    return json.dumps({"type": "KEY_REQ", "payload": b64(public_pem)}).encode()


def key_rep(wrapped):
    return json.dumps({"type": "KEY_REP", "payload": b64(wrapped)}).encode()


def data(payload, seq=None):
    if seq is None:  # server to client: no seq
        return json.dumps({"type": "DATA", "payload": b64(payload)}).encode()
    return json.dumps({"type": "DATA", "seq": seq, "payload": b64(payload)}).encode()


def ack(seq):
    return json.dumps({"type": "ACK", "ack_seq": seq}).encode()


def parse(datagram):
    """Returns the packet as a dict, or None for anything that is not one."""
    try:
        packet = json.loads(datagram.decode("utf-8"))
    except ValueError:  # includes UnicodeDecodeError and JSONDecodeError
        return None
    return packet if isinstance(packet, dict) else None


# --- messages: HMAC-SHA256(K, IV||CT) || IV || CT, AES-128-CBC, PKCS#7 -------

def seal(key, plaintext, iv=None):
    iv = iv if iv is not None else get_random_bytes(16)
    ct = AES.new(key, AES.MODE_CBC, iv).encrypt(pad(plaintext, AES.block_size))
    tag = hmac.new(key, iv + ct, hashlib.sha256).digest()
    return tag + iv + ct


def open_sealed(key, sealed):
    """Checks the length, then the tag, then decrypts; None if anything fails."""
    if len(sealed) < 32 + 16 + 16 or (len(sealed) - 48) % 16 != 0:
        return None
    tag, iv, ct = sealed[:32], sealed[32:48], sealed[48:]
    if not hmac.compare_digest(tag, hmac.new(key, iv + ct, hashlib.sha256).digest()):
        return None
    try:
        return unpad(AES.new(key, AES.MODE_CBC, iv).decrypt(ct), AES.block_size)
    except ValueError:
        return None


def payload_of(packet):
    try:
        return unb64(packet["payload"])
    except (KeyError, TypeError, ValueError):
        return None


# --- client ------------------------------------------------------------------

def client(host, port):
    rto = float(os.environ.get("SEEDPEER_RTO", "2.0"))
    linger = float(os.environ.get("SEEDPEER_LINGER", "0"))
    server = (host, port)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if os.environ.get("SEEDPEER_BIND"):
        sock.bind((os.environ["SEEDPEER_BIND"], 0))

    key = RSA.generate(2048)
    sock.sendto(key_req(key.publickey().export_key()), server)
    local = sock.getsockname()
    log("local %s:%d" % local)

    # Handshake: the first KEY_REP from the server carries our AES key.
    sock.settimeout(HANDSHAKE_TIMEOUT)
    try:
        while True:
            datagram, addr = sock.recvfrom(BUFSIZE)
            packet = parse(datagram)
            if addr != server or packet is None or packet.get("type") != "KEY_REP":
                continue
            try:
                aes_key = PKCS1_OAEP.new(key).decrypt(payload_of(packet))
            except (TypeError, ValueError):
                log("dropped a KEY_REP that does not decrypt")
                continue
            if len(aes_key) == 16:
                break
    except socket.timeout:
        log("no KEY_REP from the server")
        return 2
    sock.settimeout(None)
    log("connected %s:%d" % local)

    # A receiver thread prints broadcasts and hands ACKs to the sender.
    acks = queue.Queue()
    threading.Thread(target=receive, args=(sock, server, aes_key, acks), daemon=True).start()

    all_acked = True
    seq = 0
    for raw in sys.stdin.buffer:
        line = raw.rstrip(b"\n")
        if line.endswith(b"\r"):
            line = line[:-1]
        datagram = data(seal(aes_key, line), seq)
        if not send_and_wait(sock, server, datagram, seq, acks, rto):
            log("message %d not delivered after %d retries" % (seq, MAX_RETRIES))
            all_acked = False
        seq += 1

    time.sleep(linger)
    return 0 if all_acked else 1


def send_and_wait(sock, server, datagram, seq, acks, rto):
    """Stop-and-wait: sends datagram until ACK seq comes, at most 1+MAX_RETRIES times."""
    for attempt in range(1 + MAX_RETRIES):
        if attempt > 0:
            log("retransmitting seq %d (retry %d)" % (seq, attempt))
        sock.sendto(datagram, server)
        deadline = time.monotonic() + rto
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                if acks.get(timeout=left) == seq:
                    return True
            except queue.Empty:
                break
    return False


def receive(sock, server, aes_key, acks):
    out = sys.stdout.buffer
    while True:
        datagram, addr = sock.recvfrom(BUFSIZE)
        packet = parse(datagram)
        if addr != server or packet is None:
            continue
        if packet.get("type") == "ACK":
            acks.put(packet.get("ack_seq"))
        elif packet.get("type") == "DATA":
            sealed = payload_of(packet)
            plaintext = open_sealed(aes_key, sealed) if sealed is not None else None
            if plaintext is None:
                log("dropped a DATA that does not open")
                continue
            out.write(plaintext + b"\n")
            out.flush()


# --- server ------------------------------------------------------------------

def server(host, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, port))
    print("ready %d" % sock.getsockname()[1], flush=True)
    clients = {}  # addr -> {"key": AES key, "expected": next seq}

    while True:
        datagram, addr = sock.recvfrom(BUFSIZE)
        # The seed's way: one thread per datagram, nothing shared but clients.
        threading.Thread(target=serve, args=(sock, clients, datagram, addr), daemon=True).start()


def serve(sock, clients, datagram, addr):
    packet = parse(datagram)
    if packet is None:
        log("dropped a datagram that is not JSON from %s:%d" % addr)
        return
    kind = packet.get("type")
    if kind == "KEY_REQ":
        if addr in clients:  # the seed ignores a known address
            return
        try:
            public = RSA.import_key(payload_of(packet))
        except (TypeError, ValueError, IndexError):
            log("dropped a bad KEY_REQ from %s:%d" % addr)
            return
        aes_key = get_random_bytes(16)
        sock.sendto(key_rep(PKCS1_OAEP.new(public).encrypt(aes_key)), addr)
        clients[addr] = {"key": aes_key, "expected": 0}
        log("session for %s:%d" % addr)
    elif kind == "DATA" and addr in clients:
        session = clients[addr]
        seq = packet.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            return
        sock.sendto(ack(seq), addr)  # the seed ACKs first, whatever follows
        if seq != session["expected"]:
            log("out of order from %s:%d: seq %d, expected %d, dropped" % (addr + (seq, session["expected"])))
            return
        sealed = payload_of(packet)
        plaintext = open_sealed(session["key"], sealed) if sealed is not None else None
        if plaintext is None:
            log("bad MAC from %s:%d, dropped" % addr)
            return
        text = ("<%s:%d> " % addr).encode() + plaintext
        log("message %s" % text.decode("utf-8", "replace"))  # the seed's console
        for other, peer in list(clients.items()):
            if other != addr:
                sock.sendto(data(seal(peer["key"], text)), other)
        session["expected"] = seq + 1  # only now


# --- dump: the bytes of each packet, from fixed inputs -------------------------

def dump():
    """Reads {"private_key_pem", "aes_key_b64", "iv_b64", "plaintext", "seqs"}
    as JSON on stdin and prints one datagram a line: KEY_REQ for the key,
    KEY_REP wrapping the AES key, DATA with each seq, the server's DATA, and
    ACK of each seq. The DATA payload is sealed with the given IV."""
    given = json.load(sys.stdin)
    key = RSA.import_key(given["private_key_pem"])
    aes_key = unb64(given["aes_key_b64"])
    sealed = seal(aes_key, given["plaintext"].encode("utf-8"), unb64(given["iv_b64"]))
    lines = [key_req(key.publickey().export_key()),
             key_rep(PKCS1_OAEP.new(key.publickey()).encrypt(aes_key))]
    lines += [data(sealed, seq) for seq in given["seqs"]]
    lines.append(data(sealed))
    lines += [ack(seq) for seq in given["seqs"]]
    for line in lines:
        sys.stdout.buffer.write(line + b"\n")
    sys.stdout.flush()
    return 0


def main(argv):
    if len(argv) == 2 and argv[1] == "check":
        print(CRYPTO_MODULE, crypto_version)
        return 0
    if len(argv) == 2 and argv[1] == "dump":
        return dump()
    if len(argv) == 4 and argv[1] in ("client", "server"):
        host, port = argv[2], int(argv[3])
        if argv[1] == "client":
            return client(host, port)
        return server(host, port)
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


def stop(signum, frame):
    sys.exit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop)
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        sys.exit(0)
