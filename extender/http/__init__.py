"""The aiohttp app: decode a request, call one service method, encode the answer."""
