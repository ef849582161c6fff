# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the example scripts that start servers on 127.0.0.1: a port
# left to them is a free one; a port the user names that is taken ends the
# script with a message that says so, before anything prints a URL.

# port_taken PORT: whether something listens on 127.0.0.1:PORT.
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port: a port nothing listens on (the kernel's choice for port 0).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# need_port SCRIPT PORT WHAT: exits 1 if PORT is taken, saying what to do
# (WHAT).
need_port() {
  if port_taken "$2"; then
    echo "$1: port $2 is taken (another program listens on 127.0.0.1:$2): $3" >&2
    exit 1
  fi
}

# The WHAT of need_port for a port an option named.
or_option() { echo "stop it, or name another port with $1, or leave $1 out for a free one"; }
