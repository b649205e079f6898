"""`helm test` for weighbridge: the Service answers the way kube-scheduler will call it.

Runs inside the extender's own image with the standard library only:
    python helm-test.py URL [CA_FILE] [--client-auth] [--client-cert CERT --client-key KEY]
Checks that /readyz says ready, that /metrics serves the weighbridge metrics, and that a
filter call with no candidate nodes is answered with 200 and no Error. With --client-auth
(mutual TLS), it first checks that the filter call without a client certificate is refused
with 401, and makes the filter call with the client certificate when one is given.
"""

import argparse
import json
import ssl
import urllib.error
import urllib.request


def call(url: str, context: ssl.SSLContext | None, body: bytes | None = None) -> bytes:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=10, context=context) as response:
        if response.status != 200:
            raise SystemExit(f"FAIL {url}: HTTP {response.status}")
        data: bytes = response.read()
        return data


def refused(url: str, context: ssl.SSLContext | None, body: bytes) -> int:
    """The HTTP status of a call expected to fail; 200 if it did not."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def main(args: argparse.Namespace) -> None:
    base = args.url.rstrip("/")
    context = ssl.create_default_context(cafile=args.ca_file) if args.ca_file else None
    ready = call(f"{base}/readyz", context)
    print(f"ok   /readyz: {ready.decode().strip()}")
    metrics = call(f"{base}/metrics", context).decode()
    if "weighbridge_build_info" not in metrics:
        raise SystemExit("FAIL /metrics: no weighbridge_build_info")
    print("ok   /metrics serves weighbridge_build_info")
    pod = {
        "metadata": {"name": "helm-test", "namespace": "default", "uid": "helm-test"},
        "spec": {"containers": [{"name": "c", "image": "helm-test"}]},
    }
    body = json.dumps({"Pod": pod, "NodeNames": []}).encode()
    if args.client_auth:
        status = refused(f"{base}/filter", context, body)
        if status != 401:
            raise SystemExit(f"FAIL /filter without a client certificate: HTTP {status}, not 401")
        print("ok   /filter without a client certificate: 401")
        if not args.client_cert:
            return
    if args.client_cert and context is not None:
        context.load_cert_chain(args.client_cert, args.client_key)
    answer = json.loads(call(f"{base}/filter", context, body))
    if answer.get("Error"):
        raise SystemExit(f"FAIL /filter: {answer['Error']}")
    print(f"ok   /filter answered: {json.dumps(answer, sort_keys=True)}")


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url", help="the extender's Service, e.g. https://weighbridge.ns.svc:8888")
    p.add_argument("ca_file", nargs="?", help="the CA that signed the extender's certificate")
    p.add_argument("--client-auth", action="store_true", help="the extender wants a client cert")
    p.add_argument("--client-cert", help="client certificate for the verbs (mutual TLS)")
    p.add_argument("--client-key", help="its private key")
    args = p.parse_args()
    if bool(args.client_cert) != bool(args.client_key) or (args.client_cert and not args.ca_file):
        p.error("--client-cert and --client-key go together, with CA_FILE")
    return args


if __name__ == "__main__":
    main(parse())
