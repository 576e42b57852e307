"""The kit's Locust users, run by ``locust -f`` only (never imported by the kit: gevent patches
sockets in these processes). The master reads the run's plan (``ASMKIT_LOCUST_PLAN``, written
by the kit) and sends it to every worker; worker k of n sends the plan's requests k, k+n, ...
open-loop at their intended times (start + t, wall clock), reports each to Locust's statistics
and, in batches, to the master, which writes them to ``ASMKIT_LOCUST_OUT`` as JSON lines.

Users: `ExtAuthzGrpcUser` (Envoy's CheckRequest over gRPC, straight to the adapter),
`ExtAuthzHttpUser` (the HTTP service-mode authorization request) and `EnvoyHttpUser` (plain HTTP
through a real Envoy's listener)."""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from typing import Any

from grpc.experimental import gevent as grpc_gevent

grpc_gevent.init_gevent()

import gevent  # noqa: E402
import gevent.pool  # noqa: E402
import grpc  # noqa: E402
from envoy.service.auth.v3 import external_auth_pb2  # noqa: E402
from geventhttpclient import URL, HTTPClient  # noqa: E402
from locust import User, events, task  # noqa: E402
from locust.runners import MasterRunner, WorkerRunner  # noqa: E402

PLAN: dict[str, Any] = {}
CLAIMED: list[bool] = []
"""This worker's share of the plan is sent once, by the first user that starts (Locust may
start another user when one stops: that one only idles)."""
BATCH_S = 0.5
CHECK = "/envoy.service.auth.v3.Authorization/Check"


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner) and "ASMKIT_LOCUST_OUT" in os.environ:
        out = open(os.environ["ASMKIT_LOCUST_OUT"], "a", encoding="utf-8")  # noqa: SIM115

        def observed(msg: Any, **__: Any) -> None:
            out.write("".join(json.dumps(row) + "\n" for row in msg.data))
            out.flush()

        runner.register_message("asmkit_observed", observed)
    elif isinstance(runner, WorkerRunner):

        def plan(msg: Any, **__: Any) -> None:
            PLAN.update(msg.data)

        runner.register_message("asmkit_plan", plan)


@events.test_start.add_listener
def _start(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner) and "ASMKIT_LOCUST_PLAN" in os.environ:
        with open(os.environ["ASMKIT_LOCUST_PLAN"], encoding="utf-8") as f:
            data = json.load(f)
        if data["start_wall"] <= 0:
            data["start_wall"] = time.time() + float(data.get("start_delay", 2.0))
        with open(os.environ["ASMKIT_LOCUST_START"], "w", encoding="utf-8") as f:
            f.write(repr(data["start_wall"]))
        PLAN.update(data)
        runner.send_message("asmkit_plan", data)


class _KitUser(User):
    """One per worker: sends its share of the plan, then stops."""

    abstract = True
    transport = ""

    def _send(self, target: int, request: int) -> tuple[str, int]:
        raise NotImplementedError

    @task
    def drive(self) -> None:
        if CLAIMED:
            gevent.sleep(1.0)
            return
        CLAIMED.append(True)
        deadline = time.time() + 60
        while not PLAN and time.time() < deadline:
            gevent.sleep(0.05)
        runner = self.environment.runner
        index = getattr(runner, "worker_index", 0) % max(1, int(PLAN["workers"]))
        workers = int(PLAN["workers"])
        start = float(PLAN["start_wall"])
        times, clients, requests, routes = (PLAN[k] for k in ("t", "client", "request", "route"))
        buffer: list[list[Any]] = []
        group = gevent.pool.Pool(int(PLAN.get("max_in_flight", 2048)))
        last_flush = time.time()
        for j in range(index, len(times), workers):
            at = start + times[j]
            delay = at - time.time()
            if delay > 0:
                gevent.sleep(delay)
            group.spawn(self._one, at, times[j], clients[j], requests[j], routes[j], buffer, start)
            if time.time() - last_flush > BATCH_S and buffer:
                self._flush(buffer)
                last_flush = time.time()
        group.join(timeout=float(PLAN.get("drain_s", 10.0)))
        group.kill()
        self._flush(buffer)
        logging.info("asmkit: worker %d of %d sent its share", index, workers)

    def _one(
        self,
        at: float,
        t: float,
        client: int,
        request: int,
        route: int,
        out: list[Any],
        start: float,
    ) -> None:
        sent = time.time() - start
        exc: Exception | None = None
        try:
            outcome, status = self._send(route, request)
        except Exception as err:  # a failed request is a measured outcome
            outcome, status, exc = "error", 0, err
        latency = time.time() - at
        self.environment.events.request.fire(
            request_type=self.transport,
            name=outcome,
            response_time=latency * 1000.0,
            response_length=0,
            exception=exc if outcome == "error" else None,
            context={},
        )
        out.append([t, client, request, outcome, status, latency, sent])

    def _flush(self, buffer: list[Any]) -> None:
        if buffer:
            rows, buffer[:] = list(buffer), []
            self.environment.runner.send_message("asmkit_observed", rows)


class ExtAuthzGrpcUser(_KitUser):
    """Envoy's ext_authz Check over gRPC, straight to each replica (the plan holds the
    serialized CheckRequests the simulated Envoy builds)."""

    transport = "grpc"

    def on_start(self) -> None:
        self.bodies = [base64.b64decode(b) for b in PLAN["checks"]]
        self.calls = [
            grpc.insecure_channel(t).unary_unary(
                CHECK,
                request_serializer=lambda b: b,
                response_deserializer=external_auth_pb2.CheckResponse.FromString,
            )
            for t in PLAN["targets"]
        ]

    def _send(self, target: int, request: int) -> tuple[str, int]:
        try:
            resp = self.calls[target % len(self.calls)](
                self.bodies[request], timeout=PLAN["timeout"]
            )
        except grpc.RpcError:
            return "error", int(PLAN.get("status_on_error", 403))
        if resp.status.code == 0:
            return "allowed", 200
        return "denied", int(resp.denied_response.status.code) or 403


class ExtAuthzHttpUser(_KitUser):
    """The HTTP service-mode authorization request, straight to each replica."""

    transport = "http"

    def on_start(self) -> None:
        self.clients = [
            HTTPClient.from_url(URL(t), concurrency=64, network_timeout=PLAN["timeout"])
            for t in PLAN["targets"]
        ]
        self.asks = PLAN["http_checks"]

    def _send(self, target: int, request: int) -> tuple[str, int]:
        method, path, headers = self.asks[request]
        resp = self.clients[target % len(self.clients)].request(method, path, headers=dict(headers))
        resp.read()
        return ("allowed" if resp.status_code == 200 else "denied"), resp.status_code


class EnvoyHttpUser(_KitUser):
    """Plain HTTP requests through a real Envoy's listener (one per replica)."""

    transport = "envoy"

    def on_start(self) -> None:
        self.clients = [
            HTTPClient.from_url(URL(t), concurrency=64, network_timeout=10.0)
            for t in PLAN["targets"]
        ]
        self.asks = PLAN["http_requests"]

    def _send(self, target: int, request: int) -> tuple[str, int]:
        method, path, headers = self.asks[request]
        resp = self.clients[target % len(self.clients)].request(method, path, headers=dict(headers))
        resp.read()
        return ("allowed" if resp.status_code < 400 else "denied"), resp.status_code


LOAD_CPU: list[float] = []
"""A worker's CPU-seconds and wall clock when its test started (``ASMKIT_LOCUST_CPU_DIR``)."""
LOAD_CGROUP: list[str] = []
"""The worker's cgroups when its test started: where its CPU cap (if any) had put it."""


@events.test_start.add_listener
def _load_cpu_start(environment: Any, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner) and "ASMKIT_LOCUST_CPU_DIR" in os.environ:
        LOAD_CPU[:] = [time.process_time(), time.perf_counter()]
        with open("/proc/self/cgroup", encoding="utf-8") as f:
            LOAD_CGROUP[:] = [f.read()]


@events.test_stop.add_listener
def _load_cpu_stop(environment: Any, **_: Any) -> None:
    """Each worker writes the CPU it used while its users ran, and over what wall time, for
    ``asmkit bench load`` (which reads them once the workers are gone)."""
    if isinstance(environment.runner, WorkerRunner) and LOAD_CPU:
        figures = {
            "cpu_s": time.process_time() - LOAD_CPU[0],
            "wall_s": time.perf_counter() - LOAD_CPU[1],
            "cgroup": LOAD_CGROUP[0] if LOAD_CGROUP else "",
        }
        path = os.path.join(os.environ["ASMKIT_LOCUST_CPU_DIR"], f"worker-{os.getpid()}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(figures, f)
        LOAD_CPU.clear()


class FloodHttpUser(User):
    """Closed-loop capacity probe for ``asmkit bench load``: plain GETs as fast as answers come
    back, to ``ASMKIT_LOCUST_TARGET`` (no plan, no wait)."""

    def on_start(self) -> None:
        target = os.environ["ASMKIT_LOCUST_TARGET"]
        self.client = HTTPClient.from_url(URL(target), concurrency=1, network_timeout=10.0)
        self.path = URL(target).request_uri
        self.headers = {"host": os.environ.get("ASMKIT_LOCUST_HOST", "localhost")}

    @task
    def get(self) -> None:
        started = time.perf_counter()
        exc: Exception | None = None
        try:
            resp = self.client.get(self.path, headers=self.headers)
            resp.read()
        except Exception as err:  # measured, not raised
            exc = err
        self.environment.events.request.fire(
            request_type="GET",
            name="flood",
            response_time=(time.perf_counter() - started) * 1000.0,
            response_length=0,
            exception=exc,
            context={},
        )
