"""The seed's asyncio strategy, as a Python programmer writes it with aiohttp.

Run by the bench as: python3 aiohttp_client.py K < urls. It reads URLs, one
per line, fetches them with at most K in flight (K worker tasks sharing one
session whose connector keeps K connections), and prints one line per URL
the moment its result is in, like the bench's bare Go client:
{"url": ..., "status": ..., "body": ...}, or {"url": ..., "error": ...}. It
exits with status 1 if any request failed.
"""

import asyncio
import json
import os
import sys

import aiohttp


async def read_lines(queue):
    """Feeds the queue from stdin without blocking the event loop."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    except ValueError:  # a regular file, which never blocks for long
        for line in sys.stdin:
            if url := line.strip():
                await queue.put(url)
        return
    while line := await reader.readline():
        if url := line.decode().strip():
            await queue.put(url)


async def main(k):
    queue = asyncio.Queue(maxsize=k)
    out = sys.stdout.buffer
    failed = []

    def write(line):
        try:
            out.write(line)
            out.flush()
        except BrokenPipeError:
            os._exit(1)  # the reader is gone: there is no one left to fetch for

    async def worker(session):
        while (url := await queue.get()) is not None:
            quoted = json.dumps(url).encode()
            try:
                async with session.get(url) as resp:
                    body = await resp.read()
                write(b'{"url":%s,"status":%d,"body":%s}\n' % (quoted, resp.status, body))
                if not 200 <= resp.status <= 299:
                    failed.append(f"status {resp.status}")
            except Exception as e:  # a failed request is a result, as in the Go clients
                failed.append(repr(e))
                write(b'{"url":%s,"error":%s}\n' % (quoted, json.dumps(repr(e)).encode()))

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=k)) as session:
        workers = [asyncio.create_task(worker(session)) for _ in range(k)]
        await read_lines(queue)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    if failed:
        print(f"aiohttp client: {len(failed)} requests failed; the first: {failed[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(int(sys.argv[1]))))
