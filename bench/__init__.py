"""The AuditLoop benchmark suite (BENCHMARKS.md): `python -m bench.run [--smoke] [--only B1,B3,B4]`."""
