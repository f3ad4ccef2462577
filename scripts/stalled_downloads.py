"""Opens N connections that each ask for URL and never read the answer, holds them for SECONDS.

`make bench-files` uses it to show what a server keeps for clients that stop reading: the kernel
buffers on both sides fill, then the server should wait, not read the rest of the file into memory.
Usage: stalled_downloads.py URL N SECONDS
"""
import socket
import sys
import time
from urllib.parse import urlsplit

url, count, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
parts = urlsplit(url)
target = parts.path + ("?" + parts.query if parts.query else "")
sockets = []
for _ in range(count):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((parts.hostname, parts.port or 80))
    s.sendall(f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
    sockets.append(s)
time.sleep(seconds)
for s in sockets:
    s.close()
