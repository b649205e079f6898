"""`helm test` for weighbridge: the Service answers the way kube-scheduler will call it.

Runs inside the extender's own image with the standard library only:
    python helm-test.py URL [CA_FILE]
Checks that /readyz says ready, that /metrics serves the weighbridge metrics, and that a
filter call with no candidate nodes is answered with 200 and no Error.
"""

import json
import ssl
import sys
import urllib.request


def call(url: str, context: ssl.SSLContext | None, body: bytes | None = None) -> bytes:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=10, context=context) as response:
        if response.status != 200:
            raise SystemExit(f"FAIL {url}: HTTP {response.status}")
        data: bytes = response.read()
        return data


def main(base: str, ca_file: str | None) -> None:
    context = ssl.create_default_context(cafile=ca_file) if ca_file else None
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
    args = json.dumps({"Pod": pod, "NodeNames": []}).encode()
    answer = json.loads(call(f"{base}/filter", context, args))
    if answer.get("Error"):
        raise SystemExit(f"FAIL /filter: {answer['Error']}")
    print(f"ok   /filter answered: {json.dumps(answer, sort_keys=True)}")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    main(sys.argv[1].rstrip("/"), sys.argv[2] if len(sys.argv) == 3 else None)
