"""Per-model options: the knobs a model takes beyond prompt, aspect ratio, size and seed.

Each model has one pydantic class with `extra="forbid"`, so a misspelt or foreign option is an
error a person can read instead of a silent no-op or a provider's 422. Every field is optional:
`None` means "leave it to the provider's default", and such fields are not sent. Sizes (Nano
Banana's 512/1K/2K/4K tiers, FLUX megapixel budgets) are the request's `size`, not an option.
Which wire names an option takes is the provider adapters' business. Pure domain code.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workbench.errors import InvalidInput


class ModelOptions(BaseModel):
    """A model that takes no options."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PromptRewriteOptions(ModelOptions):
    """A model whose providers may rewrite the prompt ("prompt upsampling"): off unless the user
    lets them, since a workbench comparing wordings must send the wording written. Each offer
    says how the rewrite is turned off, or that it cannot be (`catalog.PromptRewrite`)."""

    prompt_upsampling: bool | None = Field(
        default=None,
        description="Let the provider rewrite my prompt (prompt upsampling). Off unless set.",
    )


class Flux2FlexOptions(PromptRewriteOptions):
    """FLUX.2 [flex]: the quality / speed and prompt-adherence controls BFL exposes."""

    steps: int | None = Field(default=None, ge=1, le=50, description="Inference steps, 1-50.")
    guidance: float | None = Field(
        default=None, ge=1.5, le=10.0, description="Guidance scale, 1.5-10."
    )


class Flux11UltraOptions(PromptRewriteOptions):
    """FLUX1.1 [pro] Ultra: the optional raw, less processed look."""

    raw: bool | None = Field(default=None, description="Less processed, more natural look.")


# Option sets by name; a model names its set in the catalog (`options = "flex"`).
OPTION_SETS: dict[str, type[ModelOptions]] = {
    "flux2": PromptRewriteOptions,
    "flex": Flux2FlexOptions,
    "ultra": Flux11UltraOptions,
}


class InvalidOptions(InvalidInput):
    """Options a model does not take; `problems` are sentences for a person."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def options_class(option_set: str) -> type[ModelOptions]:
    return OPTION_SETS.get(option_set, ModelOptions)


def validate_options(option_set: str, model_name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options as they may be sent (unset ones dropped); InvalidOptions lists each problem."""
    cls = options_class(option_set)
    try:
        parsed = cls.model_validate(options)
    except ValidationError as exc:
        allowed = ", ".join(cls.model_fields) or "none"
        problems = []
        for error in exc.errors():
            name = ".".join(str(p) for p in error["loc"]) or "options"
            if error["type"] == "extra_forbidden":
                problems.append(
                    f"{model_name} does not take the option '{name}' (options it takes: {allowed})."
                )
            else:
                problems.append(f"Option '{name}' for {model_name}: {error['msg']}.")
        raise InvalidOptions(problems) from None
    return parsed.model_dump(exclude_none=True)
