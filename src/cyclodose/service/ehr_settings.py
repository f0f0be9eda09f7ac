"""Settings of the EHR shells (FHIR, CDS Hooks, SMART), from `CYCLODOSE_*` variables.

Kept beside the service's own settings so that the EHR knobs live in one place; the app
builds them on first use (`ehr_settings(request)`), and tests may set
`app.state.ehr_settings` before the first request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from cyclodose.interop.fhir import ReaderOptions
from cyclodose.interop.fhir.reader import CREATININE_MAX_AGE_DAYS


class EhrSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CYCLODOSE_", extra="ignore")

    public_url: str | None = Field(
        default=None, description="the URL EHRs reach; CDS Hooks JWTs must name "
        "PUBLIC_URL/cds-services/{id} as their audience")
    cds_clients: Path | None = Field(
        default=None, description="YAML list of {iss, jwks}: the EHRs allowed to call hooks")
    cds_insecure: bool = Field(
        default=False, description="1 turns CDS Hooks JWT verification off (development only)")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="comma-separated origins allowed by CORS on "
        "/cds-services (browser-based CDS clients)")
    fhir_servers: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="comma-separated FHIR base URLs cyclodose may fetch "
        "from (import, CDS fetch, SMART); any other URL is refused")
    fhir_level_code: str | None = Field(
        default=None, description="system|code of the cycloserine level Observation")
    fhir_level_text: str = "cycloserine"
    creatinine_max_age_days: float = Field(default=CREATININE_MAX_AGE_DAYS, gt=0)
    open_order_days: float = Field(default=7.0, gt=0, le=60)
    fhir_timeout_s: float = Field(default=10.0, gt=0, le=60)
    smart_client_id: str = Field(default="cyclodose", description="SMART client_id at the EHR")
    smart_scope: str = "launch openid fhirUser patient/*.read"

    @field_validator("cors_origins", "fhir_servers", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip().rstrip("/") for v in value.split(",") if v.strip()]
        return value

    def reader_options(self, timezone: str) -> ReaderOptions:
        return ReaderOptions(level_code=self.fhir_level_code, level_text=self.fhir_level_text,
                             creatinine_max_age_days=self.creatinine_max_age_days,
                             open_order_days=self.open_order_days, timezone=timezone)

    def allowed_server(self, url: str) -> bool:
        return url.rstrip("/") in {s.rstrip("/") for s in self.fhir_servers}


def ehr_settings(request: Request) -> EhrSettings:
    settings = getattr(request.app.state, "ehr_settings", None)
    if settings is None:
        settings = request.app.state.ehr_settings = EhrSettings()
    return settings


async def _ehr_dependency(request: Request) -> EhrSettings:
    """`ehr_settings` as a dependency, on the event loop (no thread-pool hand-off)."""
    return ehr_settings(request)


Ehr = Annotated[EhrSettings, Depends(_ehr_dependency)]
