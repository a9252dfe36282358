"""What every answer shares: the base model and the error body."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Answer(BaseModel):
    """An answer of the gateway; fields this version does not name are kept."""

    model_config = ConfigDict(extra="allow")


class ErrorAnswer(BaseModel):
    """Every 4xx and 5xx: what was wrong, and what to do about it."""

    error: str = Field(examples=["text: String should have at most 5000 characters"])


class CategoryScore(Answer):
    category: str
    score: float
