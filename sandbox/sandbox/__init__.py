"""Local emulators of the Gateway and of each shop platform, for tests, the demo and benchmarks.

``sandbox.server`` is the shared machinery (a real HTTP server on 127.0.0.1, request log,
latency, rate limit, injected faults); ``sandbox.catalog`` generates the one seeded shop that
every platform emulator renders in its own API's shape.
"""
