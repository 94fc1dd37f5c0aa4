"""Schema of the Iraq–Syria border: sectors, detection and the Iraqi response."""

from __future__ import annotations

from pydantic import Field

from sim.config.schema.common import (
    Duration,
    Fraction,
    Name,
    NonNegativeFloat,
    PositiveFloat,
    Schedule,
    Strict,
    Text,
)
from sim.config.schema.geography import Crossing, Distance


class Sector(Strict):
    """A stretch of the border with its own fortification, surveillance and response units."""

    name: Name
    label: Text = ""
    length_km: PositiveFloat | None = Field(
        None, description="Length without a geography; with one it comes from from_km/to_km."
    )
    from_km: NonNegativeFloat | None = Field(
        None, description="Start along the border, km from its northern end (geography)."
    )
    to_km: NonNegativeFloat | None = Field(
        None, description="End along the border, km from its northern end; null: the end."
    )
    faces: Text = Field("", description="The Syrian risk area across the border.")
    fortification: Fraction | None = Field(
        None, description="Share of the sector fortified (0..1); or give fortified_km."
    )
    fortified_km: Schedule | None = Field(
        None,
        description="Km of the sector fortified (wall, trench, towers) over time; the "
        "fortified share is min(1, km / length).",
    )
    crossings: list[Crossing] = Field(
        default_factory=list, description="Crossing points incidents cluster near (geography)."
    )
    surveillance: Fraction = Field(description="Chance that surveillance alone detects (0..1).")
    response_units: int = Field(ge=1, description="Iraqi response units (a SimPy resource).")
    partners: dict[Name, Fraction] = Field(
        default_factory=dict,
        description="Weight of each coordination partner for this sector (sum at most 1).",
    )
    handling_days: Duration | None = Field(
        None, description="Overrides border.response.handling_days for this sector."
    )


class IsrAsset(Strict):
    """Coalition surveillance aircraft or drones of one kind: ``count`` of them based at a
    site or place; a sector within ``range_km`` of the base is covered by each."""

    name: Name
    base: Name = Field(description="A site or a geography place.")
    count: int = Field(ge=0, le=1_000)
    range_km: Distance
    detection: Fraction = Field(description="Chance that one asset in range detects.")


class Detection(Strict):
    """Independent detection channels; an incident is detected if any channel detects it."""

    fortification_weight: Fraction = Field(
        0.0, description="Detection chance per unit of fortification."
    )
    coalition_isr: Fraction = Field(
        0.0, description="Detection chance from coalition ISR at full reference presence."
    )
    coalition_reference_personnel: PositiveFloat = Field(
        2000.0, description="In-Iraq personnel at which coalition ISR is at full strength."
    )
    coordination_weight: Fraction = Field(
        0.0, description="Detection chance from intelligence shared by partners at level 1."
    )
    isr_assets: list[IsrAsset] = Field(
        default_factory=list,
        description="ISR by asset and range (geography); replaces coalition_isr's headcount.",
    )


class Interdiction(Strict):
    """The chance that a response interdicts: base_probability * exp(-wait / decay_days)."""

    base_probability: Fraction = 1.0
    decay_days: PositiveFloat | None = Field(
        None, description="Mean time scale of the loss of chance while waiting; null: no loss."
    )


class Response(Strict):
    """How Iraqi response units handle detected incidents."""

    handling_days: Duration
    interdiction: Interdiction = Interdiction()


class Border(Strict):
    """The border as the model sees it."""

    sectors: list[Sector] = Field(min_length=1)
    detection: Detection = Detection()
    response: Response
