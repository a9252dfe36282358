"""Write the request bodies the README's curl examples send, from the real data in ../shared/data
(``CITYMIND_SHARED_DATA``): ``python examples/make_examples.py`` (or ``make examples``). The files are committed,
so the README works without that data; tests/integration/test_readme.py checks they are what this script makes.

| file                  | source                                   | what                                              |
|-----------------------|------------------------------------------|---------------------------------------------------|
| pm25_week.json        | timeseries/beijing_pm25_hourly_2010_2014 | 168 hourly PM2.5 readings ending 2014-01-21 23:00 |
| overpass_frames.json  | video/overpass_traffic_1699f.avi         | 32 JPEG frames (every 4th from frame 400), fps |
"""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
END = "2014-01-21 23:00"  # three hours before the level passed 150
FRAMES, FIRST, STRIDE = 32, 400, 4


def pm25_week(data: Path) -> dict[str, Any]:
    import pandas as pd

    frame = pd.read_csv(data / "timeseries" / "beijing_pm25_hourly_2010_2014.csv")
    frame["time"] = pd.to_datetime(frame[["year", "month", "day", "hour"]])
    week = frame[frame["time"] <= pd.Timestamp(END)].tail(168)
    points = [
        {"t": t.strftime("%Y-%m-%dT%H:%M:%S"), "value": None if pd.isna(v) else float(v)}
        for t, v in zip(week["time"], week["pm2.5"], strict=True)
    ]
    return {"series": [{"indicator": "pm25", "area": "东阁街道", "points": points}]}


def overpass_frames(data: Path) -> dict[str, Any]:
    import cv2

    video = cv2.VideoCapture(str(data / "video" / "overpass_traffic_1699f.avi"))
    fps = video.get(cv2.CAP_PROP_FPS)
    frames = []
    index = 0
    while len(frames) < FRAMES:
        ok, image = video.read()
        if not ok:
            raise RuntimeError(f"the overpass video ended at frame {index}")
        if index >= FIRST and (index - FIRST) % STRIDE == 0:
            ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
            frames.append(base64.b64encode(jpeg.tobytes()).decode())
        index += 1
    # no timestamps: the gateway times them from arrival at ``fps``, so the example can be sent again and again
    return {"camera": "overpass", "frames": frames, "fps": round(fps / STRIDE, 3)}


def write(out: Path, data: Path) -> list[Path]:
    written = []
    for name, make in (("pm25_week.json", pm25_week), ("overpass_frames.json", overpass_frames)):
        path = out / name
        path.write_text(json.dumps(make(data), ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    shared = Path(os.environ.get("CITYMIND_SHARED_DATA", HERE.parent.parent / "shared" / "data"))
    if not shared.is_dir():
        sys.exit(f"no real data at {shared}: set CITYMIND_SHARED_DATA to the shared data folder")
    for path in write(HERE, shared):
        print(f"{path.relative_to(HERE.parent)}: {path.stat().st_size // 1024} KB")
