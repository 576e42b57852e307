"""Live what-ifs: the virtual engine's spec run in wall time against a real adapter (started
from its profile) behind the simulated or a real Envoy, with the fake control plane and ingest,
the same timeline (changes, faults, process events) and the same metrics, judged by an oracle;
the virtual prediction of the same spec beside it."""
