#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Timestamps the RTP packets on loopback, for benchmarks/bridge.mjs.

Prints one line per SRTP/RTP packet seen on lo:

    <kernel time, ms since the epoch> <src ip> <src port> <dst ip> <dst port> <UDP payload bytes>

and "ready" once the socket is open. Stdlib only; needs CAP_NET_RAW (the
network namespace of tests/browser/run.sh gives it). The times are the
kernel's receive stamps (SO_TIMESTAMPNS), so a busy reader does not skew
them. Loopback shows every packet twice, leaving and arriving: only the
arriving copy is kept. STUN, DTLS and RTCP are left out (RFC 7983 and
RFC 5761 demultiplexing), since only audio packets mark an onset.
"""
import socket
import struct
import sys

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SO_TIMESTAMPNS = 35  # Linux; SCM_TIMESTAMPNS has the same value


def main():
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.bind(("lo", 0))
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    while True:
        frame, anc, _flags, addr = sock.recvmsg(65536, 64)
        if addr[2] == PACKET_OUTGOING or len(frame) < 14 + 20 + 8 + 12:
            continue
        if frame[12:14] != b"\x08\x00":  # IPv4 only: the tests use 127.0.0.1 and 10.77.0.1
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 17:  # UDP
            continue
        udp = ip[ihl:]
        payload = udp[8:]
        # RTP version 2; RTCP's packet types 200-207 read as 72-79 here.
        if len(payload) < 12 or payload[0] >> 6 != 2 or 72 <= (payload[1] & 0x7F) <= 79:
            continue
        t = None
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", data[:16])
                t = sec * 1000 + nsec / 1e6
        if t is None:
            continue
        sport, dport = struct.unpack("!HH", udp[:4])
        out.write("%.3f %s %d %s %d %d\n" % (t, socket.inet_ntoa(ip[12:16]), sport,
                                             socket.inet_ntoa(ip[16:20]), dport, len(payload)))
        out.flush()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        pass
