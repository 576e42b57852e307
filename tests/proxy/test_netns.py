"""The no-cooperation redirect: adapters of every kind, hard-wired to the platform host, reach
the fake through a loopback-only namespace and trust the kit CA the way their runtime does;
anything else fails closed; namespaces are cleaned up (also those of a killed run)."""

from __future__ import annotations

import asyncio
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from proxy.ca import TRUSTSTORE_PASSWORD, CaPaths, java_truststore
from proxy.mitmdump import MitmProxy
from proxy.netns import ETC_DIR, PREFIX, Namespace, _ip, remove_stale
from proxy.redirect import Redirect
from tests.conftest import require_tool
from tests.proxy.helpers import (
    HOSTS,
    INGEST,
    PLATFORM,
    kit_ca,
    parse,
    require_mitm,
    require_netns,
    run,
    start_proxy,
    upstream,
)

URL = f"https://{PLATFORM}/apigateway/ccs/v3/probe"
PYTHON_PROBE = (
    "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())"
)
NODE_PROBE = (
    "require('https').get(process.argv[1], r => { let b = ''; r.on('data', d => b += d);"
    " r.on('end', () => console.log(b)) }).on('error', e => { console.log('ERROR ' + e.code);"
    " process.exit(3) })"
)
JAVA_PROBE = textwrap.dedent(
    """
    import java.net.URI;
    import java.net.http.*;
    public class Probe {
        public static void main(String[] args) throws Exception {
            var request = HttpRequest.newBuilder(URI.create(args[0])).build();
            var client = HttpClient.newHttpClient();
            var answer = client.send(request, HttpResponse.BodyHandlers.ofString());
            System.out.println(answer.body());
        }
    }
    """
)
GO_PROBE = textwrap.dedent(
    """
    package main

    import (
        "fmt"
        "io"
        "net/http"
        "os"
    )

    func main() {
        answer, err := http.Get(os.Args[1])
        if err != nil {
            fmt.Println("ERROR", err)
            os.Exit(3)
        }
        defer answer.Body.Close()
        body, _ := io.ReadAll(answer.Body)
        fmt.Println(string(body))
    }
    """
)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CaPaths:
    return kit_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def proxy(ca: CaPaths) -> Iterator[MitmProxy]:
    require_netns()
    require_mitm()
    running = start_proxy(ca, {})
    yield running
    running.stop()


async def _through(
    proxy: MitmProxy, mode: str, argv: list[str], env: dict[str, str]
) -> tuple[int, str, str]:
    async with upstream() as origin:
        from proxy.control import ProxyControl

        await ProxyControl(proxy).set_routes(dict.fromkeys(HOSTS, origin), HOSTS)
        redirect = Redirect(proxy, mode)  # type: ignore[arg-type]
        await redirect.open()
        try:
            full_env = {**os.environ, **redirect.env(), **env}
            return await run(*redirect.wrap(argv), env=full_env)
        finally:
            await redirect.close()


def _reached(out: str, host: str = PLATFORM) -> None:
    answer = parse(out.strip().splitlines()[-1])
    assert (answer["host"], answer["path"]) == (host, "/apigateway/ccs/v3/probe")


@pytest.mark.parametrize("mode", ["netns", "env"])
def test_python_trusts_the_kit_ca_through_ssl_cert_file(
    proxy: MitmProxy, ca: CaPaths, mode: str
) -> None:
    code, out, err = asyncio.run(
        _through(proxy, mode, ["python3", "-c", PYTHON_PROBE, URL], {"SSL_CERT_FILE": str(ca.cert)})
    )
    assert code == 0, err
    _reached(out)


def test_curl_reaches_both_hosts_without_being_told(proxy: MitmProxy, ca: CaPaths) -> None:
    curl = require_tool("curl", "apt-get install curl")
    for host in (PLATFORM, INGEST):
        url = URL.replace(PLATFORM, host)
        code, out, err = asyncio.run(
            _through(
                proxy,
                "netns",
                [curl, "-sS", "--max-time", "10", url],
                {"CURL_CA_BUNDLE": str(ca.cert)},
            )
        )
        assert code == 0, err
        _reached(out, host)


def test_node_needs_no_cooperation_in_a_namespace(proxy: MitmProxy, ca: CaPaths) -> None:
    node = require_tool("node", "apt-get install nodejs")
    env = {"NODE_EXTRA_CA_CERTS": str(ca.cert)}
    code, out, err = asyncio.run(_through(proxy, "netns", [node, "-e", NODE_PROBE, URL], env))
    assert code == 0, err
    _reached(out)
    # Node ignores HTTPS_PROXY: through proxy variables alone it fails closed (no DNS, no route)
    code, out, _ = asyncio.run(_through(proxy, "env", [node, "-e", NODE_PROBE, URL], env))
    assert code == 3 and out.startswith("ERROR EAI_AGAIN")


def test_java_trusts_a_truststore_made_from_the_kit_ca(
    proxy: MitmProxy, ca: CaPaths, tmp_path: Path
) -> None:
    java = require_tool("java", "apt-get install default-jdk-headless")
    require_tool("keytool", "apt-get install default-jdk-headless")
    store = java_truststore(ca, tmp_path / "truststore.p12")
    (tmp_path / "Probe.java").write_text(JAVA_PROBE)
    options = (
        f"-Djavax.net.ssl.trustStore={store}"
        f" -Djavax.net.ssl.trustStorePassword={TRUSTSTORE_PASSWORD}"
    )
    code, out, err = asyncio.run(
        _through(
            proxy,
            "netns",
            [java, str(tmp_path / "Probe.java"), URL],
            {"JAVA_TOOL_OPTIONS": options},
        )
    )
    assert code == 0, err
    _reached(out)


@pytest.mark.parametrize("mode", ["netns", "env"])
def test_go_trusts_the_kit_ca_through_ssl_cert_file(
    proxy: MitmProxy, ca: CaPaths, tmp_path: Path, mode: str
) -> None:
    """Go's net/http: crypto/x509 reads SSL_CERT_FILE; the default transport honours
    HTTPS_PROXY, so both redirects work."""
    go = require_tool("go", "apt-get install golang-go")
    (tmp_path / "probe.go").write_text(GO_PROBE)
    build_env = {**os.environ, "GOCACHE": str(tmp_path / "cache"), "GOPATH": str(tmp_path)}
    code, _, err = asyncio.run(
        run(go, "build", "-o", str(tmp_path / "probe"), str(tmp_path / "probe.go"), env=build_env)
    )
    assert code == 0, err
    env = {"SSL_CERT_FILE": str(ca.cert)}
    code, out, err = asyncio.run(_through(proxy, mode, [str(tmp_path / "probe"), URL], env))
    assert code == 0, out + err
    _reached(out)
    # Without the kit CA it refuses the proxy's certificate: trust comes from SSL_CERT_FILE.
    code, out, _ = asyncio.run(_through(proxy, mode, [str(tmp_path / "probe"), URL], {}))
    assert code == 3 and "certificate" in out, out


def test_everything_else_fails_closed(proxy: MitmProxy, ca: CaPaths) -> None:
    curl = require_tool("curl", "apt-get install curl")
    for mode, target, error in [
        ("netns", "https://example.com/", "Could not resolve host"),
        ("netns", "http://1.1.1.1/", "Failed to connect"),
        ("env", "http://1.1.1.1/", "502"),
        ("env", "https://example.com/", "CONNECT tunnel failed, response 502"),
    ]:
        _, out, err = asyncio.run(
            _through(proxy, mode, [curl, "-sS", "-i", "--max-time", "5", target], {})
        )
        assert error in out + err, (mode, target, out, err)


def test_dns_failure_takes_the_names_out_of_the_namespace(proxy: MitmProxy, ca: CaPaths) -> None:
    async def main() -> tuple[int, str]:
        async with upstream() as origin:
            from proxy.control import ProxyControl

            await ProxyControl(proxy).set_routes(dict.fromkeys(HOSTS, origin), HOSTS)
            redirect = Redirect(proxy, "netns")
            await redirect.open()
            try:
                assert redirect.set_dns_failure({PLATFORM})
                argv = [
                    "python3",
                    "-c",
                    "import socket, sys; socket.getaddrinfo(sys.argv[1], 443)",
                    PLATFORM,
                ]
                code, _, err = await run(*redirect.wrap(argv))
                redirect.set_dns_failure(set())
                code_after, _, _ = await run(*redirect.wrap(argv))
                assert code_after == 0
                return code, err
            finally:
                await redirect.close()

    code, err = asyncio.run(main())
    assert code != 0 and "gaierror" in err


def test_namespaces_are_removed_also_after_a_killed_run() -> None:
    require_netns()
    namespace = Namespace({PLATFORM: "127.0.0.2"})
    namespace.create()
    assert namespace.name in _ip("netns", "list")
    assert (ETC_DIR / namespace.name / "hosts").read_text().endswith(f"127.0.0.2 {PLATFORM}\n")
    namespace.delete()
    assert namespace.name not in _ip("netns", "list")
    assert not (ETC_DIR / namespace.name).exists()
    dead = f"{PREFIX}999999999-1"  # the name a killed run with that pid would have left
    _ip("netns", "add", dead)
    (ETC_DIR / dead).mkdir(parents=True, exist_ok=True)
    assert dead in remove_stale()
    assert dead not in _ip("netns", "list") and not (ETC_DIR / dead).exists()
