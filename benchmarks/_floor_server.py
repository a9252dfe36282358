"""The latency floor: a plain uvicorn + FastAPI process running the same ONNX session, nothing else."""

import sys

import numpy as np
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

from models.onnx_session import OnnxTextClassifier

model = OnnxTextClassifier.from_path(sys.argv[1])
app = FastAPI()


class Report(BaseModel):
    text: str


@app.post("/v1/events/classify")
async def classify(report: Report) -> dict:
    proba = model.predict_proba([report.text])[0]
    best = int(np.argmax(proba))
    return {"category": model.classes[best], "confidence": float(proba[best])}


uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
