"""Schema of the Iraq–Syria border: sectors, detection and the Iraqi response."""

from __future__ import annotations

from pydantic import Field

from sim.config.schema.common import (
    Duration,
    Fraction,
    Name,
    PositiveFloat,
    Strict,
    Text,
)


class Sector(Strict):
    """A stretch of the border with its own fortification, surveillance and response units."""

    name: Name
    label: Text = ""
    length_km: PositiveFloat
    faces: Text = Field("", description="The Syrian risk area across the border.")
    fortification: Fraction = Field(description="Share of the sector fortified (0..1).")
    surveillance: Fraction = Field(description="Chance that surveillance alone detects (0..1).")
    response_units: int = Field(ge=1, description="Iraqi response units (a SimPy resource).")
    partners: dict[Name, Fraction] = Field(
        default_factory=dict,
        description="Weight of each coordination partner for this sector (sum at most 1).",
    )
    handling_days: Duration | None = Field(
        None, description="Overrides border.response.handling_days for this sector."
    )


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
