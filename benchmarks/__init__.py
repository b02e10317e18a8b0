"""Load generator for ircish and other IRC servers.

``python -m benchmarks.run SCENARIO`` connects many raw IRC clients from several
processes and reports deliveries per second, delivery latency, registrations per
second and the server's CPU and memory. See ``benchmarks/README.md``.
"""
