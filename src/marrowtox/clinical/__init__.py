"""Clinical scores: ICAHT, CAR-HEMATOTOX, EASIX family, biomarkers, events (issue 4)."""

from marrowtox.clinical.events import validate_events
from marrowtox.clinical.units import normalise_labs, validate_labs

__all__ = ["normalise_labs", "validate_events", "validate_labs"]
