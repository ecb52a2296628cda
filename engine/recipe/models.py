"""The recipe and component formats, as pydantic models.

These models are the single definition of the file formats: `waypath recipe schema`
prints the JSON Schema generated from them, and docs/recipes.md documents them. Every
model forbids unknown keys, so a typo is an error with a "did you mean" (see loading.py).

Jinja2 expressions appear in strings marked "(template)" below; they are rendered by
templating.py with the context described in docs/recipes.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

API_VERSION = "waypath.dev/v1"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True, defer_build=True)


# --------------------------------------------------------------------------- component


class Edition(StrictModel):
    """A product line with its own releases, e.g. Linkerd `oss` or `enterprise`."""

    name: str = Field(description="Edition id used in recipes, e.g. `oss`.")
    prefix: str = Field(
        description="How releases of this edition are written: `stable` for `stable-2.11.5`."
    )
    versions: str = Field(
        default="*",
        description="Semver range of product versions in this edition; decides the edition of a "
        "plain version such as `2.11.5`.",
    )
    description: str = ""


class Release(StrictModel):
    """One known release of the component and the chart versions that ship it."""

    version: str = Field(description="Release as the vendor writes it, e.g. `stable-2.11.5`.")
    charts: dict[str, str] = Field(
        default_factory=dict,
        description="Chart name -> chart version that ship this release.",
    )
    repository: str | None = Field(
        default=None, description="Helm repository URL the charts of this release come from."
    )
    images: dict[str, str] = Field(
        default_factory=dict,
        description="Image name (last path segment, e.g. `proxy`) -> the tag this release's "
        "charts use by default. Recipes move pinned image tags to these.",
    )
    notes: str = ""


class Detector(StrictModel):
    """Finds one kind of object of the component in a repo: a HelmRelease of one of `charts`."""

    name: str = Field(description="Detector id, e.g. `core` or `linkerd-viz`.")
    role: Literal["core", "extension"] = Field(
        default="core",
        description="`core` objects carry the component's version; `extension` objects move with it.",
    )
    kind: Literal["HelmRelease"] = "HelmRelease"
    charts: list[str] = Field(min_length=1, description="Chart names that identify the object.")


class Channel(StrictModel):
    """Where a chart comes from (a Helm repository URL) and what that says about the running
    release: helm-controller installs the newest chart the pin admits *from that source*."""

    name: str = Field(description="Channel name, e.g. `stable`, `edge`, `enterprise`.")
    repository: str = Field(description="Repository URL, as in HelmRepository/OCIRepository.")
    publishes: bool = Field(
        default=True,
        description="False when the channel no longer publishes: the newest release the "
        "catalog lists for it is the newest there is.",
    )
    refuse: str | None = Field(
        default=None,
        description="Why installs from this channel are refused (e.g. no recipes for it yet).",
    )


class Component(StrictModel):
    """`recipes/<component>/component.yaml`: editions, release catalog, detectors."""

    api_version: Literal["waypath.dev/v1"] = Field(alias="apiVersion")
    kind: Literal["Component"]
    name: str
    description: str = ""
    editions: list[Edition] = Field(min_length=1)
    releases: list[Release] = Field(min_length=1)
    detectors: list[Detector] = Field(min_length=1)
    channels: list[Channel] = Field(
        default_factory=list,
        description="Chart sources, to resolve floating pins as helm-controller does.",
    )
    catalog_date: str = Field(
        default="",
        description="When the release list was last checked (e.g. `2026-06`): a floating pin "
        "on a channel that still publishes resolves to the newest release known then.",
    )
    patch_upgrades: bool = Field(
        default=True,
        description="Generate a chart-bump recipe inside every release line "
        "(e.g. enterprise-2.16.1 -> enterprise-2.16.5).",
    )


class ComponentExtension(StrictModel):
    """`<your library>/<component>/component.yaml` adding releases to a component defined in
    another library folder (usually the bundled one), which is never edited."""

    api_version: Literal["waypath.dev/v1"] = Field(alias="apiVersion")
    kind: Literal["ComponentExtension"]
    extends: str = Field(description="Name of the component whose catalog this file extends.")
    description: str = ""
    releases: list[Release] = Field(
        min_length=1, description="Releases added to the catalog (none may be listed already)."
    )


# --------------------------------------------------------------------------- recipe parts


class Selector(StrictModel):
    """Which YAML documents a step works on. Every given field must match."""

    kind: str | None = None
    api_version: str | None = Field(
        default=None,
        alias="apiVersion",
        description="Exact apiVersion, or a group prefix ending in `/` (`helm.toolkit.fluxcd.io/`).",
    )
    name: str | None = Field(default=None, description="metadata.name (template).")
    namespace: str | None = Field(default=None, description="metadata.namespace (template).")
    chart: str | list[str] | None = Field(
        default=None, description="HelmRelease spec.chart.spec.chart (one name or a list)."
    )
    detector: str | None = Field(
        default=None,
        description="Only objects the component's detector of this name found for the instance.",
    )
    file: str | None = Field(
        default=None,
        description="Glob on the repo-relative path (template); relative to the instance scope "
        "unless `scope: repo`.",
    )
    labels: dict[str, str] = Field(default_factory=dict, description="metadata.labels to match.")
    kustomizes: str | None = Field(
        default=None,
        description="Only Flux Kustomizations whose spec.path is this folder or one above it "
        "(template), e.g. the parent Kustomization of `{{ instance.dir }}`.",
    )
    scope: Literal["instance", "repo"] = Field(
        default="instance",
        description="`instance`: only files under the instance's scope folder; `repo`: anywhere.",
    )
    required: bool = Field(
        default=True,
        description="When true, matching nothing is an error; when false it is reported in the plan.",
    )


class Op(StrictModel):
    """One RFC 6902 operation, with Waypath's extensions.

    Paths are JSON Pointers (`/spec/values/proxy`, `~1` for `/` in a key) where a list item
    may also be addressed by a key: `/spec/values/containers[name=proxy]/image`.
    """

    op: Literal["add", "remove", "replace", "move", "copy", "test", "nest", "unnest"]
    path: str
    value: Any = Field(default=None, description="For add, replace, test (template when a string).")
    from_: str | None = Field(default=None, alias="from", description="For move and copy.")
    key: str | None = Field(default=None, description="For nest/unnest: the key to nest under.")
    keep: list[str] = Field(
        default_factory=list, description="For nest/unnest: keys that stay where they are."
    )
    optional: bool = Field(
        default=False,
        description="Tolerate a missing path: remove/replace/move/copy become no-ops, test is skipped.",
    )
    parents: bool = Field(default=False, description="For add: create missing parent mappings.")
    prune: bool = Field(
        default=False,
        description="For remove and move: also remove the parent mappings the op leaves empty "
        "(no `issuer: {}` left behind).",
    )
    reason: str | None = Field(
        default=None, description="Why (reported in the plan when the op drops or moves a key)."
    )

    @model_validator(mode="after")
    def _check_fields(self) -> Op:
        if self.op in ("move", "copy") and not self.from_:
            raise ValueError(f"op `{self.op}` needs `from`")
        if self.op in ("nest", "unnest") and not self.key:
            raise ValueError(f"op `{self.op}` needs `key`")
        if self.op in ("add", "replace", "test") and "value" not in self.model_fields_set:
            raise ValueError(f"op `{self.op}` needs `value`")
        return self


class Gate(StrictModel):
    """What must be true in the cluster before the next commit is merged."""

    @model_validator(mode="before")
    @classmethod
    def _one_check(cls, value: Any) -> Any:
        # `check: "flux get hr -n linkerd"` is the natural way to write a single command.
        if isinstance(value, dict) and isinstance(value.get("check"), str):
            return {**value, "check": [value["check"]]}
        return value

    wait: str = Field(description="What to wait for, in words (template).")
    check: list[str] = Field(
        default_factory=list, description="Commands that show it, e.g. `flux get hr -n linkerd` (template)."
    )


class PatchBody(StrictModel):
    select: Selector
    ops: list[Op] = Field(min_length=1)


class TemplateBody(StrictModel):
    """Render Jinja2 into a new file (`into`) or in place of selected documents (`replace`)."""

    source: str | None = Field(default=None, description="Template file, relative to the recipe.")
    inline: str | None = Field(default=None, description="Template text, instead of `source`.")
    into: str | None = Field(
        default=None, description="Repo-relative path of the file to write (template)."
    )
    replace: Selector | None = Field(
        default=None, description="Replace each selected document with the rendered text."
    )
    select: Selector | None = Field(
        default=None, description="Documents given to the template as `docs` (and `doc`)."
    )
    overwrite: bool = Field(
        default=False, description="With `into`: allow replacing a file that already exists."
    )
    append: bool = Field(
        default=False,
        description="With `into`: add the rendered document(s) to the end of an existing file.",
    )
    register_: bool = Field(
        alias="register",
        default=True,
        description="With `into`: list a new file in the `resources:` of the kustomization.yaml "
        "beside it, when there is one (deleting a file's last document removes it likewise).",
    )

    @model_validator(mode="after")
    def _check_fields(self) -> TemplateBody:
        if (self.source is None) == (self.inline is None):
            raise ValueError("give exactly one of `source` or `inline`")
        if (self.into is None) == (self.replace is None):
            raise ValueError("give exactly one of `into` or `replace`")
        return self


class MoveBody(StrictModel):
    from_: str = Field(alias="from", description="Repo-relative path (template).")
    to: str = Field(description="Repo-relative path (template).")


class DeleteBody(StrictModel):
    """Delete a file (`path`) or the selected documents (`select`)."""

    path: str | None = Field(default=None, description="Repo-relative path (template).")
    select: Selector | None = None

    @model_validator(mode="after")
    def _check_fields(self) -> DeleteBody:
        if (self.path is None) == (self.select is None):
            raise ValueError("give exactly one of `path` or `select`")
        return self


class NoteBody(StrictModel):
    """A manual step: shown in the plan, the commit and the MR description, never executed."""

    title: str = Field(description="One line (template).")
    text: str = Field(default="", description="Explanation (template).")
    commands: list[str] = Field(default_factory=list, description="Copy-paste commands (template).")
    unverified: bool = Field(
        default=False, description="The step relies on a fact marked UNVERIFIED in the reference."
    )


class AssertBody(StrictModel):
    that: str = Field(description="Jinja2 expression that must be true.")
    message: str = Field(description="Shown when it is false (template).")


class _StepBase(StrictModel):
    id: str | None = Field(default=None, description="Optional name, shown in errors and reports.")
    when: str | None = Field(
        default=None, description="Jinja2 expression; the step runs only when it is true."
    )


class PatchStep(_StepBase):
    patch: PatchBody


class TemplateStep(_StepBase):
    template: TemplateBody


class MoveStep(_StepBase):
    move: MoveBody


class DeleteStep(_StepBase):
    delete: DeleteBody


class NoteStep(_StepBase):
    note: NoteBody | str

    @property
    def body(self) -> NoteBody:
        return self.note if isinstance(self.note, NoteBody) else NoteBody(title=self.note)


class AssertStep(_StepBase):
    assert_: AssertBody = Field(alias="assert")


STEP_KINDS = ("patch", "template", "move", "delete", "note", "assert")


def _step_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        present = [k for k in STEP_KINDS if k in value]
        return present[0] if len(present) == 1 else None
    for kind, attr in (
        ("patch", "patch"),
        ("template", "template"),
        ("move", "move"),
        ("delete", "delete"),
        ("note", "note"),
        ("assert", "assert_"),
    ):
        if hasattr(value, attr):
            return kind
    return None


Step = Annotated[
    Annotated[PatchStep, Tag("patch")]
    | Annotated[TemplateStep, Tag("template")]
    | Annotated[MoveStep, Tag("move")]
    | Annotated[DeleteStep, Tag("delete")]
    | Annotated[NoteStep, Tag("note")]
    | Annotated[AssertStep, Tag("assert")],
    Discriminator(
        _step_kind,
        custom_error_type="step_kind",
        custom_error_message="a step needs exactly one of: " + ", ".join(STEP_KINDS),
    ),
]


class Uninstall(StrictModel):
    """A HelmRelease this phase deliberately lets Flux uninstall (deleted without suspend)."""

    name: str = Field(description="metadata.name of the HelmRelease (template).")
    reason: str


class Phase(StrictModel):
    """A group of steps that becomes one commit; the cluster reconciles it before the next."""

    name: str
    message: str = Field(description="Commit subject (template).")
    description: str = Field(default="", description="Commit body text (template).")
    when: str | None = Field(default=None, description="Jinja2 expression; skip the phase when false.")
    gate: Gate | None = None
    uninstalls: list[Uninstall] = Field(
        default_factory=list,
        description="HelmReleases this phase intentionally deletes without suspending first.",
    )
    steps: list[Step] = Field(default_factory=list)


class Param(StrictModel):
    type: Literal["string", "boolean", "integer", "choice"] = "string"
    default: Any = None
    choices: list[str] = Field(default_factory=list, description="For `choice`.")
    description: str = ""
    secret: bool = Field(default=False, description="Never rendered into plans, files or logs.")

    @model_validator(mode="after")
    def _check_choice(self) -> Param:
        if self.type == "choice" and not self.choices:
            raise ValueError("a `choice` param needs `choices`")
        return self


class FromSpec(StrictModel):
    edition: str
    versions: str = Field(description="Semver range of product versions, e.g. `>=2.11.0 <2.12.0`.")


class ToSpec(StrictModel):
    edition: str
    version: str = Field(description="Exact product version, e.g. `2.12.6`.")


class Recipe(StrictModel):
    """`recipes/<component>/<from>-to-<to>.yaml`: one edge of the version graph."""

    api_version: Literal["waypath.dev/v1"] = Field(alias="apiVersion")
    kind: Literal["Recipe"]
    id: str | None = Field(default=None, description="Defaults to the file name without `.yaml`.")
    component: str
    from_: FromSpec = Field(alias="from")
    to: ToSpec
    summary: str
    description: str = ""
    supported: bool = Field(
        default=True, description="False for hops the vendor does not support (shown as a warning)."
    )
    unverified: list[str] = Field(
        default_factory=list,
        description="Facts this recipe relies on that are UNVERIFIED; they reach the MR description.",
    )
    params: dict[str, Param] = Field(default_factory=dict)
    phases: list[Phase] = Field(min_length=1)

