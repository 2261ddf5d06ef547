"""The btrmon API served by waitress for ``bench/ingest.py``, plus two baseline routes.

- ``POST /bench/parse``: parses the JSON body and answers (the HTTP ceiling of this server);
- ``POST /bench/naive``: validates, then one INSERT plus COMMIT per event (no group commit).
Bench-only: these routes are never part of the product.
"""

import argparse
import threading
import time

import flask
import orjson
import waitress

from btrmon.monitor import Monitor
from btrmon.server import create_flask
from btrmon.inserts import CHECKED_INSERTS, to_arrow

parser = argparse.ArgumentParser()
parser.add_argument("--db", required=True)
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--threads", type=int, default=8)
args = parser.parse_args()

monitor = Monitor(db=args.db)
server = create_flask(monitor)
local = threading.local()


@server.post("/bench/parse")
def parse_only():
    events = orjson.loads(flask.request.get_data())
    return flask.Response(orjson.dumps({"accepted": len(events)}), mimetype="application/json")


@server.post("/bench/naive")
def insert_per_event():
    events = orjson.loads(flask.request.get_data())
    rows, _, _ = monitor.prepare([(e.get("kind"), e) for e in events], time.time())
    cur = getattr(local, "cur", None) or monitor.db.con.cursor()
    local.cur = cur
    for table, table_rows in rows.items():
        for row in table_rows:
            batch = to_arrow(table, [row])  # noqa: F841 - read by the SQL below
            cur.register("batch", batch)
            cur.execute("BEGIN")
            cur.execute(CHECKED_INSERTS[table]).fetchall()
            cur.execute("COMMIT")
            cur.unregister("batch")
    return flask.Response(orjson.dumps({"accepted": len(events)}), mimetype="application/json")


print("ready", flush=True)
waitress.serve(server, host="127.0.0.1", port=args.port, threads=args.threads, ident="bench",
               connection_limit=2000, _quiet=True)
