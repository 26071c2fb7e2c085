"""A small round-robin HTTP load balancer: what nginx or a cloud load balancer does in front of
several bot processes in webhook mode, reduced to forwarding each request to the next backend in
turn. `routed` records which backend took each request, in order.
"""

from __future__ import annotations

import aiohttp
from aiohttp import web

# Hop-by-hop and length headers aiohttp sets itself on the forwarded request and response.
SKIPPED_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


class RoundRobinProxy:
    def __init__(self, backends: list[str]):
        self.backends = backends  # base URLs, e.g. http://127.0.0.1:8443
        self.routed: list[int] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> RoundRobinProxy:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
        if self._session:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        backend = len(self.routed) % len(self.backends)
        self.routed.append(backend)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in SKIPPED_HEADERS}
        url = self.backends[backend] + request.rel_url.path_qs
        try:
            async with self._session.request(
                request.method, url, headers=headers, data=await request.read()
            ) as answer:
                body = await answer.read()
                kept = {k: v for k, v in answer.headers.items() if k.lower() not in SKIPPED_HEADERS}
                return web.Response(status=answer.status, body=body, headers=kept)
        except (aiohttp.ClientError, OSError):
            return web.Response(status=502, text="backend unreachable")
