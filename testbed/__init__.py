"""Real local servers, an OpenAI-compatible fake and a worker driver.

Shared by the tests, the benchmarks, the chaos run and `make dev-services`, so
none of them imports `tests/`. Never shipped in an image.
"""
