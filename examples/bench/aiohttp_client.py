"""The seed's asyncio strategy, as a Python programmer writes it with aiohttp.

Run by the bench as: python3 aiohttp_client.py K < urls. It reads URLs, one
per line, fetches them with at most K in flight (K worker tasks sharing one
session whose connector keeps K connections), and prints one line per result
the moment it has it, like the bench's bare Go client:
{"url": ..., "status": ..., "body": ...}. It exits with status 1 if any
request failed.
"""

import asyncio
import json
import os
import sys

import aiohttp


async def main(k):
    queue = asyncio.Queue(maxsize=k)
    out = sys.stdout.buffer
    failed = []

    async def worker(session):
        while (url := await queue.get()) is not None:
            try:
                async with session.get(url) as resp:
                    body = await resp.read()
                    out.write(b'{"url":%s,"status":%d,"body":%s}\n' % (json.dumps(url).encode(), resp.status, body))
                    out.flush()
                    if not 200 <= resp.status <= 299:
                        failed.append(f"status {resp.status}")
            except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                failed.append(repr(e))
            except BrokenPipeError:
                os._exit(1)  # the reader is gone: there is no one left to fetch for

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=k)) as session:
        workers = [asyncio.create_task(worker(session)) for _ in range(k)]
        for line in sys.stdin:
            if line := line.strip():
                await queue.put(line)
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    if failed:
        print(f"aiohttp client: {len(failed)} requests failed; the first: {failed[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(int(sys.argv[1]))))
