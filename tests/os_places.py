"""An HTTP server that answers as OS Places API's postcode resource does, for the address lookup's
tests (tests/runtime/test_address_lookup.py, tests/browser/test_question_types.py).

No runnable OS Places server exists (it is Ordnance Survey's hosted API, behind a key), so this
one answers in the shape OS documents (https://docs.os.uk/os-apis/accessing-os-apis/os-places-api:
a "header", and "results" of {"DPA": {...}} records in capitals; no "results" at all for a
postcode without addresses; a refused key as HTTP 401 with a "fault"), over real HTTP on a free
port, so the client's requests, timeouts and parsing are the real ones. ``mode`` makes it fail the
ways the real one can: "401", "500", "slow" (answers after ``delay`` seconds), "drip" (a byte at a
time), "malformed" (a body that is not JSON), "wrong-shape" (JSON, but not OS Places').
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

KEY = "test-os-places-key"


def dpa(uprn: str, postcode: str, **fields: Any) -> dict[str, Any]:
    """One Delivery Point Address record as OS Places writes it (the fields a form reads, and a
    few of the others, so that the client is seen to ignore what it does not need)."""
    parts = [fields.get(k) for k in ("ORGANISATION_NAME", "SUB_BUILDING_NAME", "BUILDING_NAME", "BUILDING_NUMBER")]
    street = fields.get("THOROUGHFARE_NAME")
    address = ", ".join(
        str(p) for p in (*parts, street, fields.get("DEPENDENT_LOCALITY"), fields["POST_TOWN"], postcode) if p
    )
    return {
        "DPA": {
            "UPRN": uprn,
            "UDPRN": uprn[-8:],
            "ADDRESS": address,
            **fields,
            "POSTCODE": postcode,
            "RPC": "1",
            "X_COORDINATE": -1.4991,
            "Y_COORDINATE": 50.9362,
            "STATUS": "APPROVED",
            "LOGICAL_STATUS_CODE": "1",
            "CLASSIFICATION_CODE": "RD04",
            "CLASSIFICATION_CODE_DESCRIPTION": "Terraced",
            "LOCAL_CUSTODIAN_CODE": 1760,
            "LOCAL_CUSTODIAN_CODE_DESCRIPTION": "WESTBRIDGE",
            "COUNTRY_CODE": "E",
            "COUNTRY_CODE_DESCRIPTION": "This record is within England",
            "POSTAL_ADDRESS_CODE": "D",
            "POSTAL_ADDRESS_CODE_DESCRIPTION": "A record which is linked to PAF",
            "BLPU_STATE_CODE": None,
            "BLPU_STATE_CODE_DESCRIPTION": "Unknown/Not applicable",
            "TOPOGRAPHY_LAYER_TOID": "osgb1000002682081995",
            "LAST_UPDATE_DATE": "10/02/2016",
            "ENTRY_DATE": "01/09/2010",
            "LANGUAGE": fields.get("LANGUAGE", "EN"),
            "MATCH": 1.0,
            "MATCH_DESCRIPTION": "EXACT",
            "DELIVERY_POINT_SUFFIX": "1A",
        }
    }


# The postcodes this server knows, in OS Places' order.
ADDRESSES: dict[str, list[dict[str, Any]]] = {
    "WB1 2AB": [
        dpa("100062000001", "WB1 2AB", BUILDING_NUMBER="10", THOROUGHFARE_NAME="MILL LANE", POST_TOWN="WESTBRIDGE"),
        dpa(
            "100062000002",
            "WB1 2AB",
            SUB_BUILDING_NAME="FLAT 2",
            BUILDING_NAME="ROSE COURT",
            BUILDING_NUMBER="12",
            THOROUGHFARE_NAME="MILL LANE",
            DEPENDENT_LOCALITY="OLD TOWN",
            POST_TOWN="WESTBRIDGE",
        ),
        dpa(
            "100062000003",
            "WB1 2AB",
            ORGANISATION_NAME="ST. JOHN'S SURGERY",
            BUILDING_NAME="14A",
            THOROUGHFARE_NAME="MILL LANE",
            POST_TOWN="WESTBRIDGE",
        ),
    ],
    # Records a client must pass over, around one it can use.
    "WB9 9ZZ": [
        {"DPA": {k: v for k, v in dpa("1", "WB9 9ZZ", POST_TOWN="WESTBRIDGE")["DPA"].items() if k != "UPRN"}},
        {"LPI": {"UPRN": "100062000010", "ADDRESS": "LAND AT MILL LANE, WESTBRIDGE"}},
        "not a record",
        {"DPA": {**dpa("1", "WB9 9ZZ", PO_BOX_NUMBER="123", POST_TOWN="WESTBRIDGE")["DPA"], "UPRN": 100062000009}},
        dpa(
            "100062000011", "NOT A POSTCODE", BUILDING_NUMBER="3", THOROUGHFARE_NAME="MILL LANE", POST_TOWN="WESTBRIDGE"
        ),
        dpa("100062000012<b>", "WB9 9ZZ", BUILDING_NUMBER="4", THOROUGHFARE_NAME="MILL LANE", POST_TOWN="WESTBRIDGE"),
    ],
    "CF10 1AA": [
        # A Welsh address comes in English and in Welsh, one UPRN.
        dpa("100100000001", "CF10 1AA", BUILDING_NUMBER="1", THOROUGHFARE_NAME="HEOL Y FRENHINES", POST_TOWN="CARDIFF"),
        dpa(
            "100100000001",
            "CF10 1AA",
            BUILDING_NUMBER="1",
            THOROUGHFARE_NAME="HEOL Y FRENHINES",
            POST_TOWN="CAERDYDD",
            LANGUAGE="CY",
        ),
    ],
}


class FakeOsPlaces(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "ok"
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the timeout tests) closes the connection mid-answer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/search/places/v1"


class _Handler(BaseHTTPRequestHandler):
    server: FakeOsPlaces

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (quiet)
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.server.requests.append({"path": url.path, "query": query, "key": self.headers.get("key")})
        mode = self.server.mode
        if mode == "slow":
            time.sleep(self.server.delay)
        if url.path != "/search/places/v1/postcode":
            self._send(404, json.dumps({"error": {"statuscode": 404, "message": "Not found"}}).encode())
            return
        if mode == "401" or (self.headers.get("key") or query.get("key")) != KEY:
            fault = {"fault": {"faultstring": "Invalid ApiKey", "detail": {"errorcode": "oauth.v2.InvalidApiKey"}}}
            self._send(401, json.dumps(fault).encode())
            return
        if mode == "500":
            self._send(500, json.dumps({"error": {"statuscode": 500, "message": "Internal Server Error"}}).encode())
            return
        if mode == "malformed":
            self._send(200, b'{"header": {"totalresults": 3}, "results": [{"DPA": ')
            return
        if mode == "wrong-shape":
            self._send(200, json.dumps([{"line1": "10 Mill Lane"}]).encode())
            return
        postcode = query.get("postcode", "")
        results = ADDRESSES.get(postcode, [])
        header = {
            "uri": f"https://api.os.uk/search/places/v1/postcode?postcode={postcode}",
            "query": f"postcode={postcode}",
            "offset": 0,
            "totalresults": len(results),
            "format": "JSON",
            "dataset": "DPA",
            "lr": "EN,CY",
            "maxresults": int(query.get("maxresults", "100")),
            "epoch": "117",
            "lastupdate": "2026-11-20",
            "output_srs": query.get("output_srs", "EPSG:27700"),
        }
        body = json.dumps({"header": header, "results": results} if results else {"header": header}).encode()
        if mode == "drip":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for i in range(len(body)):
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(0.05)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        self._send(200, body)


@contextmanager
def running() -> Iterator[FakeOsPlaces]:
    """A server answering as OS Places does, on a free port (a test module's fixture wraps it)."""
    server = FakeOsPlaces()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
