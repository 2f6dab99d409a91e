"""Journey rules: what to send for each case status, and when to follow up.

Loaded from `config/journeys.toml`; every rule is a frozen value.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from groundcontrol.domain import Priority
from groundcontrol.durations import parse_duration
from groundcontrol.errors import ConfigError


@dataclass(frozen=True)
class FollowUp:
    """Follow up `after` a silent period, then `every` interval, at most `max` times."""

    after: timedelta
    template: str
    every: timedelta | None = None
    max: int = 1

    def first_due(self, status_at: datetime) -> datetime:
        return status_at + self.after

    def next_due(self, fired: int, last_due: datetime) -> datetime | None:
        """When the follow-up fires again after having fired `fired` times, or None."""
        if fired >= self.max or self.every is None:
            return None
        return last_due + self.every


@dataclass(frozen=True)
class Rule:
    status: str
    template: str
    priority: Priority = Priority.NORMAL
    follow_up: FollowUp | None = None
    coalesce: timedelta | None = None
    promise: timedelta | None = None  # longest an open case may stay dark in this status
    final: bool = False  # this status closes the case (planning/golden_thread.py)


@dataclass(frozen=True)
class Journeys:
    rules: Mapping[str, Rule]
    default_promise: timedelta | None = None  # `[defaults] promise`

    def rule_for(self, status: str) -> Rule | None:
        return self.rules.get(status)

    def templates(self) -> set[str]:
        names = {rule.template for rule in self.rules.values()}
        names |= {r.follow_up.template for r in self.rules.values() if r.follow_up}
        return names


def _positive(value: str | None) -> str | None:
    if value is not None and parse_duration(value) <= timedelta(0):
        raise ValueError("a promise must be longer than 0s")
    return value


class _FollowUpModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    after: str
    template: str
    every: str | None = None
    max: int = Field(default=1, ge=1, le=1000)

    @field_validator("after", "every")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class _RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    status: str = Field(min_length=1)
    template: str = Field(min_length=1)
    priority: str = "normal"
    follow_up: _FollowUpModel | None = None
    coalesce: str | None = None
    promise: str | None = None
    final: bool = False

    _promise = field_validator("promise")(_positive)

    @field_validator("priority")
    @classmethod
    def _priority(cls, value: str) -> str:
        Priority.parse(value)
        return value

    @field_validator("coalesce")
    @classmethod
    def _coalesce(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class _DefaultsModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    promise: str | None = None

    _promise = field_validator("promise")(_positive)


class _JourneysModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    defaults: _DefaultsModel = _DefaultsModel()
    rules: list[_RuleModel] = []


def _optional_duration(value: str | None) -> timedelta | None:
    return parse_duration(value) if value else None


def _to_rule(model: _RuleModel) -> Rule:
    follow = model.follow_up
    return Rule(
        status=model.status,
        template=model.template,
        priority=Priority.parse(model.priority),
        coalesce=_optional_duration(model.coalesce),
        promise=_optional_duration(model.promise),
        final=model.final,
        follow_up=FollowUp(
            after=parse_duration(follow.after),
            template=follow.template,
            every=parse_duration(follow.every) if follow.every else None,
            max=follow.max,
        )
        if follow
        else None,
    )


def parse_journeys(data: Mapping[str, Any], origin: str = "journeys") -> Journeys:
    try:
        model = _JourneysModel.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ConfigError(f"{origin}: {problems}") from exc
    rules: dict[str, Rule] = {}
    for rule_model in model.rules:
        if rule_model.status in rules:
            raise ConfigError(f"{origin}: status {rule_model.status!r} has two rules")
        rules[rule_model.status] = _to_rule(rule_model)
    return Journeys(rules=rules, default_promise=_optional_duration(model.defaults.promise))


def load_journeys(path: Path) -> Journeys:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"journeys file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return parse_journeys(data, origin=str(path))
