"""Benchmark harness: quality/cost metrics, baseline routers, the policy as served, reports."""
