"""How a router is scored, shared by every layer that measures one (policy training, onboarding,
the benchmark): the evaluation set (a dataset's splits over a pool, cost and quality), the metrics
(AIQ, APGR, CTM, savings), paired bootstrap intervals, and the reference curves every learned
router is compared with (IRT-greedy's preference sweep, the binary pair's thresholds).
"""
