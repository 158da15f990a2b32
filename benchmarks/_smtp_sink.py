"""A LocalSMTPServer in a process of its own, for benchmarks: prints its port and CA file,
then, at each line on stdin, how many messages it has accepted; exits at end of input."""

from __future__ import annotations

import sys

from contos_messaging.testing_smtp import LocalSMTPServer

if __name__ == "__main__":
    with LocalSMTPServer() as server:
        print(server.port, server.ca_file, flush=True)
        for _line in sys.stdin:
            print(len(server.messages), flush=True)
