"""Reads a running monitor with the `gatus-api` PyPI client (what Home Assistant's Gatus
integration uses) and checks it sees every target: python gatus-client.py URL KEY..."""

import asyncio
import sys

import aiohttp
from gatus_api import GatusClient


async def main(url: str, keys: list[str]) -> None:
    async with aiohttp.ClientSession() as session:
        statuses = await GatusClient(url, session).get_endpoints_statuses()
    seen = [status.key for status in statuses]
    if seen != keys:
        sys.exit(f"gatus-api saw endpoints {seen}, expected {keys}")
    for status in statuses:
        last = status.results[-1] if status.results else None
        print(f"gatus-api: {status.key}: {len(status.results)} results, last {last}")


asyncio.run(main(sys.argv[1], sys.argv[2:]))
