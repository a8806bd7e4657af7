"""What a revision changed: the typed record stored as `Revision.change` (JSON).

Read and written here only. Steps say where the text layer changed, so pending proposals can be
carried over (review.anchoring maps through them); footnotes add no text, so their points and
renumbering are recorded beside the steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Step:
    """A replacement on the text layer: [pos, pos + old_len) became new_len code points
    (ProseMirror's StepMap range)."""

    pos: int
    old_len: int
    new_len: int

    @property
    def end(self) -> int:
        return self.pos + self.old_len

    @property
    def delta(self) -> int:
        return self.new_len - self.old_len

    def as_list(self) -> list[int]:
        return [self.pos, self.old_len, self.new_len]


@dataclass(frozen=True)
class RevisionChange:
    """How a revision came about.

    `kind` is "import" (revision 1), "update" (a re-import) or "proposal" (an approval).
    `steps` is None when the text changed without a step map (re-imports, edits outside
    review): offsets made on an earlier revision cannot be carried across such a revision.
    Steps are in the order they were applied, last position first, each in its parent's
    offsets as the earlier ones left them.
    """

    kind: str = "import"
    steps: tuple[Step, ...] | None = None
    renamed_notes: dict[str, str | None] = field(default_factory=dict)  # old id → new id
    added_notes: tuple[int, ...] = ()  # points, in the parent's offsets, of footnotes added
    # Points, in the parent's offsets, of existing footnotes edited or removed by a footnote
    # change: no step covers them, yet a structural fix holding the old note would undo them.
    touched_notes: tuple[int, ...] = ()
    # Points, in the parent's offsets, where whole blocks were inserted between two blocks:
    # a step there is not a change to the blocks on either side.
    inserted_blocks: tuple[int, ...] = ()
    # The document div's attributes it set or removed (edition.tei.metadata names): no step
    # covers them, yet a pending change of the same attribute holds the old values.
    attributes: tuple[str, ...] = ()
    # Ranges, in the parent's offsets, whose inline markup changed: no step covers them (the
    # text is the same), yet a structural fix of their block holds the old markup.
    marked: tuple[tuple[int, int], ...] = ()
    approvers: tuple[int, ...] = ()  # user ids
    proposal: int | None = None
    source: str = ""  # the file an import read

    @property
    def has_step_map(self) -> bool:
        return self.steps is not None

    @classmethod
    def from_json(cls, data: dict) -> RevisionChange:
        steps = data.get("steps")
        return cls(
            kind=data.get("kind", "import"),
            steps=None if steps is None else tuple(Step(*s) for s in steps),
            renamed_notes=dict(data.get("renamed_notes", {})),
            added_notes=tuple(data.get("added_notes", ())),
            touched_notes=tuple(data.get("touched_notes", ())),
            inserted_blocks=tuple(data.get("inserted_blocks", ())),
            attributes=tuple(data.get("attributes", ())),
            marked=tuple(tuple(r) for r in data.get("marked", ())),
            approvers=tuple(data.get("approvers", ())),
            proposal=data.get("proposal"),
            source=data.get("source", ""),
        )

    def to_json(self) -> dict:
        data: dict = {"kind": self.kind}
        if self.steps is not None:
            data["steps"] = [s.as_list() for s in self.steps]
        if self.renamed_notes:
            data["renamed_notes"] = self.renamed_notes
        if self.added_notes:
            data["added_notes"] = sorted(self.added_notes)
        if self.touched_notes:
            data["touched_notes"] = sorted(self.touched_notes)
        if self.inserted_blocks:
            data["inserted_blocks"] = sorted(self.inserted_blocks)
        if self.attributes:
            data["attributes"] = sorted(self.attributes)
        if self.marked:
            data["marked"] = [list(r) for r in sorted(self.marked)]
        if self.approvers:
            data["approvers"] = sorted(self.approvers)
        if self.proposal is not None:
            data["proposal"] = self.proposal
        if self.source:
            data["source"] = self.source
        return data
