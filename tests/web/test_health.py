"""Health and a full disk: /healthz tells whether the store still writes, and every write answers 503."""

from __future__ import annotations

import httpx


def test_a_full_disk_answers_503_everywhere_and_healthz_says_so(start_server, tmp_path) -> None:
    db = tmp_path / "full.db"
    server = start_server(db_path=db)  # migrate and settle with no limit
    server.stop()
    # From now on no file of the server's may grow past 600 KiB: the WAL soon cannot.
    limit = max(db.stat().st_size, 200 * 1024) + 600 * 1024
    server = start_server(db_path=db, file_size_limit=limit)
    with httpx.Client(base_url=server.url, timeout=10) as http:
        assert http.get("/healthz").json() == {"status": "ok", "store": "ok", "hub": "ok"}
        kept = http.post("/api/bins").json()["id"]
        assert http.post(f"/b/{kept}/first").status_code == 200
        statuses = []
        for _ in range(3000):  # each bin is a commit of a few KiB into the WAL
            response = http.post("/api/bins", json={"name": None})
            statuses.append(response.status_code)
            if response.status_code != 201:
                break
        assert statuses[-1] == 503, statuses[-5:]
        assert set(statuses) == {201, 503}
        assert "cannot store anything right now" in response.json()["detail"]

        assert http.delete(f"/api/bins/{kept}/requests").status_code == 503
        assert http.post(f"/b/{kept}/hook", content=b"x" * 4096).status_code == 503
        health = http.get("/healthz")
        assert health.status_code == 503
        assert health.json()["store"] == "unable to write"
        # Reading still works: the dashboard and the API show what was kept.
        assert http.get(f"/api/bins/{kept}").status_code == 200
        assert http.get(f"/bins/{kept}").status_code == 200
    assert "Traceback" not in server.log
