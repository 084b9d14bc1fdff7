"""A TEST SERVER, for the test suite only: a minimal in-memory subset of the Hugging Face Hub HTTP protocol.

It answers just what `huggingface_hub`'s create_repo, create_branch, create_commit (regular, base64
uploads: its preupload answer never asks for LFS), repo_info/model_info, snapshot_download and
hf_hub_download send, on 127.0.0.1, so that the real client can be tested end to end offline.
"""
from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse


class Store:
    def __init__(self, tokens: dict[str, str]):
        self.tokens = tokens  # token -> user name
        self.repos: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.requests: list[str] = []


def make_handler(store: Store):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        # -- helpers ---------------------------------------------------------------------------
        def user(self) -> str | None:
            auth = self.headers.get("Authorization", "")
            return store.tokens.get(auth.removeprefix("Bearer ").strip()) if auth else None

        def send(self, code: int, body: bytes = b"", headers: dict | None = None, head: bool = False) -> None:
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def send_json(self, code: int, obj, headers: dict | None = None) -> None:
            self.send(code, json.dumps(obj).encode(), {"Content-Type": "application/json", **(headers or {})})

        def not_found(self, what: str = "RepoNotFound") -> None:
            self.send_json(404, {"error": what}, {"X-Error-Code": what, "X-Error-Message": what})

        def body(self) -> bytes:
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def repo(self, repo_id: str):
            r = store.repos.get(repo_id)
            if r is None:
                return None
            if r["private"] and self.user() != r["owner"]:
                return None  # a private repo is invisible without the owner's token, as on the Hub
            return r

        def resolve(self, r: dict, rev: str) -> str | None:
            if rev in r["branches"]:
                return r["branches"][rev]
            return rev if rev in r["commits"] else None

        # -- routes ----------------------------------------------------------------------------
        def do_POST(self) -> None:  # noqa: N802
            path = unquote(urlparse(self.path).path)
            store.requests.append(f"POST {path}")
            data = self.body()
            if path == "/api/repos/create":
                user = self.user()
                if user is None:
                    return self.send_json(401, {"error": "auth"}, {"X-Error-Message": "Invalid credentials in Authorization header"})
                req = json.loads(data)
                repo_id = f"{req.get('organization') or user}/{req['name']}"
                url = f"http://{self.headers['Host']}/{repo_id}"
                with store.lock:
                    if repo_id in store.repos:
                        return self.send_json(409, {"error": "exists", "url": url})
                    empty = hashlib.sha1(repo_id.encode()).hexdigest()
                    private = bool(req.get("private")) or req.get("visibility") == "private"
                    store.repos[repo_id] = {"private": private, "owner": user,
                                            "branches": {"main": empty}, "commits": {empty: {}}}
                return self.send_json(200, {"url": url, "name": repo_id})
            if path == "/api/validate-yaml":
                return self.send_json(200, {"errors": [], "warnings": []})
            parts = path.split("/")
            # /api/models/{org}/{name}/{preupload|commit|branch}/{rev}
            if len(parts) >= 7 and parts[1] == "api" and parts[2] == "models":
                repo_id, action, rev = f"{parts[3]}/{parts[4]}", parts[5], "/".join(parts[6:])
                r = self.repo(repo_id)
                if r is None:
                    return self.not_found()
                if self.user() != r["owner"]:
                    return self.send_json(403, {"error": "forbidden"})
                if action == "preupload":
                    files = json.loads(data)["files"]
                    return self.send_json(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]})
                if action == "branch":
                    with store.lock:
                        r["branches"].setdefault(rev, r["branches"]["main"])
                    return self.send_json(200, {})
                if action == "commit":
                    with store.lock:
                        parent = self.resolve(r, rev)
                        if parent is None:
                            return self.not_found("RevisionNotFound")
                        files = dict(r["commits"][parent])
                        for line in data.splitlines():
                            item = json.loads(line)
                            if item["key"] == "file":
                                files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                            elif item["key"] == "deletedFile":
                                files.pop(item["value"]["path"], None)
                        sha = hashlib.sha1(parent.encode() + json.dumps(sorted((k, hashlib.sha1(v).hexdigest()) for k, v in files.items())).encode()).hexdigest()
                        r["commits"][sha] = files
                        r["branches"][rev] = sha
                    return self.send_json(200, {"commitUrl": f"http://{self.headers['Host']}/{repo_id}/commit/{sha}", "commitOid": sha})
            return self.not_found("EntryNotFound")

        def do_GET(self) -> None:  # noqa: N802
            self.route(head=False)

        def do_HEAD(self) -> None:  # noqa: N802
            self.route(head=True)

        def route(self, head: bool) -> None:
            path = unquote(urlparse(self.path).path)
            store.requests.append(f"{'HEAD' if head else 'GET'} {path}")
            parts = path.split("/")
            api = len(parts) >= 7 and parts[1] == "api" and parts[2] == "models" and parts[5] in ("tree", "revision")
            resolve = len(parts) >= 6 and parts[3] == "resolve"  # /{org}/{name}/resolve/{rev}/{file}
            if not (api or resolve):
                return self.not_found("EntryNotFound")
            repo_id, rev = (f"{parts[3]}/{parts[4]}", "/".join(parts[6:])) if api else (f"{parts[1]}/{parts[2]}", parts[4])
            r = self.repo(repo_id)
            if r is None:
                return self.not_found()
            sha = self.resolve(r, rev)
            if sha is None:
                return self.not_found("RevisionNotFound")
            files = r["commits"][sha]
            if api and parts[5] == "tree":
                return self.send_json(200, [{"type": "file", "path": f, "size": len(b), "oid": hashlib.sha1(b).hexdigest()}
                                            for f, b in sorted(files.items())])
            if api:
                return self.send_json(200, {"id": repo_id, "modelId": repo_id, "sha": sha, "private": r["private"],
                                            "siblings": [{"rfilename": f} for f in sorted(files)]})
            blob = files.get("/".join(parts[5:]))
            if blob is None:
                return self.not_found("EntryNotFound")
            etag = f'"{hashlib.sha256(blob).hexdigest()}"'
            return self.send(200, blob, {"X-Repo-Commit": sha, "ETag": etag, "Content-Type": "application/octet-stream"}, head=head)

    return Handler


class HubServer:
    def __init__(self, tokens: dict[str, str]):
        self.store = Store(tokens)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self.store))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "HubServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
