"""The forecast latency floor: a plain uvicorn + FastAPI process running the same ONNX session, nothing else."""

import sys
from datetime import datetime

import numpy as np
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

from models.onnx_session import make_session

session = make_session(sys.argv[1])
app = FastAPI()


class History(BaseModel):
    history: list[float | None]
    end: datetime
    exog: dict[str, float | None] | None = None


@app.post("/v1/forecast")
async def forecast(body: History) -> dict:
    feed = {
        "history": np.array([[np.nan if v is None else v for v in body.history[-168:]]]),
        "origin": np.array([[int((body.end - datetime(1970, 1, 1)).total_seconds())]]),
    }
    values, lower, upper = session.run(["forecast", "lower", "upper"], feed)
    return {"forecast": values[0].tolist(), "lower": lower[0].tolist(), "upper": upper[0].tolist()}


uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
